"""A synthetic photo network that knows its own truth (``discovery generate``).

Topics with real hashtag variants (:mod:`.topics`), people with sparse interests and home
communities plus brand accounts (:mod:`.accounts`), a follow graph with homophily, preferential
attachment, triadic closure and reciprocity (:mod:`.graph`), posts with captions and images
(:mod:`.posts`, :mod:`.images`), and interactions sampled from a ground-truth utility
(:mod:`.truth`, :mod:`.interactions`). :func:`generate_world` writes it all to a database.
A theme (:mod:`.themes`) decides what the world is about: drawn hobby topics (``tiny``,
``large``) or the food dishes of the shipped public-domain photographs (``demo``).
"""

from .config import GENERATOR_VERSION, NOW, SIZES, UtilityParams, WorldConfig, plan
from .generate import generate_world, media_dir
from .images import image_path, render_post_image
from .themes import THEMES, Theme, photos_folder
from .topics import GENERIC_TAGS, TOPICS, Topic
from .truth import Truth, affinity, load_truth, utility

__all__ = [
    "GENERATOR_VERSION",
    "GENERIC_TAGS",
    "NOW",
    "SIZES",
    "THEMES",
    "TOPICS",
    "Theme",
    "Topic",
    "Truth",
    "UtilityParams",
    "WorldConfig",
    "affinity",
    "generate_world",
    "image_path",
    "load_truth",
    "media_dir",
    "photos_folder",
    "plan",
    "render_post_image",
    "utility",
]
