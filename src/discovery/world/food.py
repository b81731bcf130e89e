"""The food world's vocabulary: dishes the shipped photographs show, as hashtags people write.

The demo world (``generate --size demo``) is a food network: each topic is a dish or category
that enough of the shipped public-domain photos show (:mod:`discovery.world.photos`, curated by
``tools/curate_photos.py``), and each topic's hashtags are the variants people really use —
plurals (``burger`` / ``burgers``), CamelCase (``SushiTime``), emoji (``🍣``) and near
synonyms shared between topics (``italianfood`` on pizza and pasta) — so hashtag normalisation,
tag semantics and clustering have the same work to do as on the drawn world's topics.

Topics come in four groups (communities mix topics mostly within one group): ``fresh`` (the
demo user's), ``comfort``, ``sweet`` and ``cafe``.
"""

from __future__ import annotations

from .topics import Topic

__all__ = [
    "FOOD_BRANDS",
    "FOOD_GENERIC_TAGS",
    "FOOD_GROUPS",
    "FOOD_ME_BRANDS",
    "FOOD_ME_INTERESTS",
    "FOOD_TOPICS",
]


def _f(name: str, group: str, tags: str, palette: tuple[tuple[int, int, int], ...]) -> Topic:
    # Phrases are unused (a photo post's caption starts with the photo's title); the palette
    # and shape only matter if a food post is ever drawn instead of photographed.
    return Topic(name, group, tuple(tags.split()), ("Today's plate",), palette, "rings", 12)


# fmt: off
FOOD_TOPICS: tuple[Topic, ...] = (
    _f("sushi", "fresh", "sushi sushilover SushiTime 🍣 sushis maki nigiri sashimi japanesefood SushiLovers",
       ((240, 235, 225), (230, 90, 60), (30, 40, 30))),
    _f("seafood", "fresh", "seafood fish salmon SeafoodLover shrimp seafoods 🐟 🦐 fishdinner",
       ((220, 230, 235), (240, 130, 90), (60, 110, 130))),
    _f("salad", "fresh", "salad salads saladbowl SaladLover greens healthyeating eatclean 🥗 veggies",
       ((235, 240, 225), (80, 160, 60), (200, 50, 40))),
    _f("berries", "fresh", "berries strawberries blueberries berry BerrySeason raspberries 🍓 summerfruit",
       ((245, 235, 235), (200, 30, 60), (60, 60, 140))),
    _f("fruit", "fresh", "fruit fruits fruitbowl FreshFruit 🍉 tropicalfruit 🍊 fruity healthysnack",
       ((250, 245, 230), (240, 150, 40), (90, 170, 60))),
    _f("pizza", "comfort", "pizza pizzas pizzalover PizzaTime 🍕 pizzanight margherita italianfood slice",
       ((240, 225, 190), (200, 60, 30), (90, 140, 40))),
    _f("burgers", "comfort", "burger burgers cheeseburger BurgerTime burgerlover 🍔 hamburger fastfood fries",
       ((245, 230, 200), (140, 80, 40), (220, 170, 60))),
    _f("pasta", "comfort", "pasta pastalover spaghetti PastaNight 🍝 homemadepasta italianfood carbonara",
       ((245, 235, 210), (230, 190, 90), (190, 50, 30))),
    _f("bbq", "comfort", "bbq barbecue grill grilling BBQLife steak 🥩 meatlover grilled smokedmeat",
       ((60, 40, 30), (150, 60, 30), (230, 120, 40))),
    _f("cake", "sweet", "cake cakes cupcakes CakeDecorating 🍰 cakelover 🎂 cheesecake birthdaycake",
       ((250, 235, 240), (240, 170, 190), (120, 70, 50))),
    _f("cookies", "sweet", "cookies cookie biscuits CookieMonster 🍪 homebaking christmascookies",
       ((245, 230, 205), (190, 130, 70), (90, 50, 30))),
    _f("donuts", "sweet", "donuts donut doughnuts DonutLover 🍩 doughnut glazed sweettooth",
       ((250, 230, 240), (230, 120, 170), (200, 150, 90))),
    _f("icecream", "sweet", "icecream gelato IceCream IceCreamTime 🍦 🍨 icecreamlover icecreams summertreat",
       ((250, 245, 235), (240, 200, 150), (160, 100, 70))),
    _f("coffee", "cafe", "coffee coffeetime coffeelover latte espresso ☕ CoffeeAddict barista",
       ((110, 70, 40), (220, 200, 170), (60, 40, 25))),
    _f("bread", "cafe", "bread sourdough breads bakery BreadMaking 🍞 🥖 homebaked croissant",
       ((240, 220, 180), (190, 130, 60), (120, 70, 40))),
    _f("pancakes", "cafe", "pancakes pancake waffles PancakeDay 🥞 crepes stack breakfasttime",
       ((250, 240, 220), (220, 160, 80), (130, 60, 30))),
    _f("brunch", "cafe", "brunch eggs egg BrunchTime breakfast 🍳 avocadotoast poachedegg eggsbenedict",
       ((250, 250, 240), (250, 200, 40), (90, 140, 60))),
)
# fmt: on

#: Tags food posts of every topic carry now and then; little topical signal.
FOOD_GENERIC_TAGS: tuple[str, ...] = (
    "food",
    "foodporn",
    "foodie",
    "instafood",
    "yummy",
    "delicious",
    "FoodPhotography",
    "homemade",
    "foodstagram",
    "tasty",
    "foodlover",
    "instagood",
    "love",
    "❤️",
    "nomnom",
)

#: Topic groups, most common community group first (weights in :mod:`discovery.world.themes`).
FOOD_GROUPS: tuple[str, ...] = ("fresh", "comfort", "sweet", "cafe")

#: Brand accounts of the food world: handle, display name, topics (twelve, like the drawn world).
FOOD_BRANDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sushidaily", "Sushi Daily", ("sushi", "seafood")),
    ("pizzaclub", "Pizza Club", ("pizza", "pasta")),
    ("grillmasters", "Grill Masters", ("bbq", "burgers")),
    ("sweettooth", "Sweet Tooth", ("cake", "cookies", "donuts")),
    ("scoopshop", "Scoop Shop", ("icecream",)),
    ("greenbowl", "Green Bowl", ("salad", "fruit")),
    ("berryfarm", "Berry Farm", ("berries", "fruit")),
    ("morningbrew", "Morning Brew", ("coffee", "pancakes")),
    ("crumbandcrust", "Crumb & Crust", ("bread",)),
    ("brunchclub", "Brunch Club", ("brunch", "pancakes", "coffee")),
    ("tastehub", "Taste Hub", ("pizza", "burgers", "cake")),
    ("freshcatch", "Fresh Catch", ("seafood", "sushi")),
)

#: The demo user's interests in the food world (all in the ``fresh`` group).
FOOD_ME_INTERESTS: dict[str, float] = {
    "sushi": 0.3,
    "seafood": 0.2,
    "salad": 0.2,
    "berries": 0.15,
    "fruit": 0.15,
}

#: The two brands the demo user follows.
FOOD_ME_BRANDS: tuple[str, str] = ("sushidaily", "greenbowl")
