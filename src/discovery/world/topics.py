"""The topics of the synthetic world: hashtag vocabularies, caption phrases and visual styles.

Each topic carries the hashtag variants people really write (``bike`` / ``biking`` / ``mtb`` /
``MountainBiking``; ``sunset`` / ``sunsets`` / ``🌅``): CamelCase, plurals and emoji, so that
normalisation and tag semantics have real work to do. Generic tags (``#love``, ``#instagood``)
appear on posts of every topic and carry little signal. Each topic also has a visual style
(palette, shape family, texture) used by :mod:`discovery.world.images`, so image features carry
topic signal.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GENERIC_TAGS", "GROUPS", "TOPICS", "Topic", "topic_index"]


@dataclass(frozen=True)
class Topic:
    """One topic: its name, hashtag vocabulary (most common first), phrases and visual style.

    ``shape`` is one of ``mountains``, ``circles``, ``waves``, ``stripes``, ``grid``, ``blobs``,
    ``dots``, ``rings``; ``palette`` holds RGB colours (background first); ``texture`` is the
    noise amplitude added to the image.
    """

    name: str
    group: str
    tags: tuple[str, ...]
    phrases: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]
    shape: str
    texture: int


def _t(name, group, tags, phrases, palette, shape, texture):  # type: ignore[no-untyped-def]
    return Topic(name, group, tuple(tags.split()), tuple(phrases), tuple(palette), shape, texture)


# fmt: off
TOPICS: tuple[Topic, ...] = (
    _t("hiking", "outdoor", "hiking hike HikingAdventures trail trails mountains optoutside getoutside 🥾 ⛰️ naturelovers hikes",
       ["Summit day", "Up the ridge before breakfast", "Trail miles"],
       [(70, 110, 160), (60, 90, 50), (230, 230, 235)], "mountains", 18),
    _t("climbing", "outdoor", "climbing rockclimbing bouldering climb ClimbingLife cragging 🧗 climber boulder",
       ["Sent it!", "Project day at the crag", "Chalk and granite"],
       [(200, 170, 130), (120, 90, 60), (240, 140, 40)], "grid", 30),
    _t("mtb", "outdoor", "mtb bike biking mountainbike MountainBiking MTBLife enduro singletrack 🚵 bikelife bikes",
       ["Dusty laps", "New trail, who dis", "Flow state"],
       [(150, 110, 70), (40, 120, 60), (220, 60, 40)], "stripes", 35),
    _t("skiing", "outdoor", "skiing ski skier powder freeride SkiTouring backcountry ⛷️ snow apresski",
       ["Powder day", "First tracks", "Cold smoke"],
       [(235, 240, 250), (110, 150, 210), (30, 40, 80)], "mountains", 8),
    _t("surfing", "outdoor", "surf surfing surfer surfers surflife 🏄 SurfsUp waves surfboard",
       ["Dawn patrol", "Glassy sets", "Paddle out"],
       [(30, 120, 170), (240, 230, 200), (250, 250, 255)], "waves", 15),
    _t("sunsets", "outdoor", "sunset sunsets sunsetlovers SunsetPhotography goldenhour sky skyporn 🌅 dusk",
       ["Golden hour", "The sky tonight", "Chasing light"],
       [(250, 140, 60), (200, 60, 90), (60, 30, 80)], "circles", 6),
    _t("food", "home", "food foodporn foodie foodies instafood yummy delicious FoodPhotography 🍕 dinner",
       ["Dinner is served", "Homemade", "Best meal this week"],
       [(245, 235, 220), (200, 60, 30), (90, 140, 40)], "rings", 20),
    _t("coffee", "home", "coffee coffeetime coffeelover latte latteart espresso ☕ CoffeeAddict barista",
       ["Morning ritual", "Flat white o'clock", "Slow mornings"],
       [(110, 70, 40), (220, 200, 170), (60, 40, 25)], "rings", 12),
    _t("dogs", "home", "dog dogs dogsofinstagram puppy puppies doggo 🐶 DogLovers instadog",
       ["Good boy", "Walkies", "Zoomies"],
       [(180, 220, 120), (160, 120, 80), (250, 250, 240)], "blobs", 25),
    _t("cats", "home", "cat cats catsofinstagram kitten kitty 🐱 CatLovers meow",
       ["Sunbeam nap", "The boss", "If I fits"],
       [(230, 210, 230), (120, 110, 110), (250, 200, 120)], "blobs", 15),
    _t("streetphoto", "city", "streetphotography street streetphoto urban StreetLife citylife blackandwhite bnw",
       ["Downtown", "Strangers", "Light and shadow"],
       [(40, 40, 40), (200, 200, 200), (120, 120, 120)], "grid", 40),
    _t("architecture", "city", "architecture archilovers building buildings ArchitecturePhotography design lookingup 🏛️",
       ["Lines", "Looking up", "Concrete poetry"],
       [(180, 200, 220), (240, 240, 240), (90, 100, 120)], "grid", 5),
    _t("fashion", "city", "fashion ootd style outfit outfitoftheday FashionBlogger streetstyle 👗",
       ["Today's fit", "New season", "Thrifted"],
       [(240, 200, 210), (200, 40, 100), (30, 30, 30)], "stripes", 10),
    _t("fitness", "body", "fitness gym workout fitfam FitnessMotivation training fit 💪 gymlife",
       ["Leg day", "No excuses", "PR today"],
       [(30, 30, 40), (230, 50, 50), (200, 200, 210)], "stripes", 22),
    _t("travel", "outdoor", "travel travelgram instatravel traveling travelling wanderlust TravelPhotography ✈️ explore",
       ["Somewhere new", "Postcards", "Wish you were here"],
       [(100, 170, 230), (250, 220, 150), (40, 110, 90)], "circles", 14),
    _t("art", "city", "art artist artwork drawing painting illustration ArtOfTheDay 🎨 sketch",
       ["Work in progress", "Sketchbook", "Finished piece"],
       [(250, 245, 235), (40, 90, 200), (240, 190, 30)], "dots", 12),
    _t("cars", "city", "car cars carsofinstagram carporn supercar JDM 🚗 classiccars",
       ["Weekend drive", "Clean lines", "Garage day"],
       [(20, 20, 25), (200, 20, 20), (170, 170, 180)], "stripes", 8),
    _t("gardening", "home", "garden gardening gardens plants plantsofinstagram flowers GardenLife 🌱 urbangarden",
       ["Harvest", "First blooms", "Dirt under the nails"],
       [(90, 160, 70), (240, 120, 160), (110, 80, 50)], "dots", 28),
    _t("yoga", "body", "yoga yogi yogalife yogapractice YogaEveryday meditation namaste 🧘",
       ["Breathe", "Morning flow", "Balance"],
       [(240, 225, 210), (150, 120, 190), (250, 180, 140)], "circles", 4),
    _t("music", "city", "music musician livemusic concert guitar MusicLife 🎸 vinyl",
       ["Live tonight", "On repeat", "Jam session"],
       [(20, 10, 40), (250, 60, 200), (60, 200, 250)], "rings", 30),
    _t("books", "home", "books book bookstagram reading booklover BookWorm 📚 amreading",
       ["Currently reading", "Stack of the month", "Rainy day read"],
       [(240, 230, 210), (130, 40, 40), (40, 70, 60)], "grid", 10),
    _t("beaches", "outdoor", "beach beaches beachlife ocean sea BeachVibes 🏖️ sand",
       ["Salt in the hair", "Shoreline", "Beach day"],
       [(120, 200, 230), (240, 220, 170), (20, 110, 160)], "waves", 6),
    _t("wildlife", "outdoor", "wildlife wildlifephotography nature animals birds birding 🦊 naturephotography",
       ["Spotted", "Patience pays", "Into the wild"],
       [(80, 100, 50), (170, 140, 90), (30, 50, 30)], "blobs", 32),
    _t("baking", "home", "baking bake bread sourdough cake cakes homebaking 🍰 pastry",
       ["Fresh out of the oven", "Crumb shot", "Sunday bake"],
       [(240, 220, 180), (190, 130, 60), (120, 70, 40)], "circles", 18),
)
# fmt: on

#: Tags every kind of post carries now and then; little topical signal.
GENERIC_TAGS: tuple[str, ...] = tuple(
    [
        "love",
        "instagood",
        "photooftheday",
        "picoftheday",
        "photography",
        "beautiful",
        "happy",
        "instadaily",
        "nofilter",
        "follow",
        "like4like",
        "tbt",
        "weekend",
        "❤️",
        "bestoftheday",
    ]
)

#: Topic groups: communities mix topics mostly within one group (outdoor people hike and ski).
GROUPS: tuple[str, ...] = ("outdoor", "home", "city", "body")


def topic_index(name: str) -> int:
    """Position of the topic called ``name`` in :data:`TOPICS`.

    >>> TOPICS[topic_index("sunsets")].tags[:3]
    ('sunset', 'sunsets', 'sunsetlovers')
    """
    for i, topic in enumerate(TOPICS):
        if topic.name == name:
            return i
    raise KeyError(name)
