"""Gloss names: real upper-case English words of a weather-forecast and daily-life domain.

Words are grouped by the grammatical role the sentence model gives them, so that a gloss's neighbours
are predictable the way they are in weather forecasts (TOMORROW NORTH RAIN STRONG ...).
"""

from __future__ import annotations

WORDS_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "time": (
        "TODAY", "TOMORROW", "YESTERDAY", "MORNING", "EVENING", "NIGHT", "NOON", "WEEKEND", "MONDAY",
        "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY", "LATER", "SOON", "NOW",
        "WEEK", "MONTH", "SPRING", "SUMMER", "AUTUMN", "WINTER", "AFTERNOON", "DAWN", "MIDNIGHT",
        "HOLIDAY", "JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST",
        "SEPTEMBER", "OCTOBER", "NOVEMBER", "DECEMBER", "DAY", "HOUR", "MINUTE", "YEAR", "TONIGHT",
    ),
    "region": (
        "NORTH", "SOUTH", "EAST", "WEST", "COAST", "MOUNTAIN", "VALLEY", "CITY", "COUNTRY", "ISLAND",
        "LAKE", "RIVER", "SEA", "FOREST", "REGION", "BORDER", "CENTER", "HILL", "PLAIN", "NORTHEAST",
        "NORTHWEST", "SOUTHEAST", "SOUTHWEST", "INLAND", "HARBOR", "VILLAGE", "TOWN", "ALPS", "BAY",
        "DESERT", "FIELD", "SHORE", "PENINSULA", "HIGHLAND", "LOWLAND", "EVERYWHERE", "AREA", "PLACE",
    ),
    "weather": (
        "RAIN", "SNOW", "SUN", "CLOUD", "WIND", "STORM", "FOG", "THUNDER", "LIGHTNING", "HAIL", "FROST",
        "ICE", "SHOWER", "DRIZZLE", "SLEET", "BREEZE", "GUST", "HEAT", "DROUGHT", "FLOOD", "RAINBOW",
        "MIST", "HAZE", "DEW", "BLIZZARD", "TORNADO", "HURRICANE", "WEATHER", "SKY", "AIR", "PRESSURE",
        "HUMIDITY", "TEMPERATURE", "CLIMATE", "FORECAST", "SUNSHINE", "DARKNESS", "LIGHT", "WAVE",
        "TIDE", "SMOG", "POLLEN", "SUNRISE", "SUNSET", "MOON", "STAR",
    ),
    "quality": (
        "STRONG", "WEAK", "WARM", "COLD", "HOT", "MILD", "COOL", "DRY", "WET", "HEAVY", "LIGHTLY",
        "CLEAR", "CLOUDY", "SUNNY", "WINDY", "RAINY", "FRIENDLY", "CHANGEABLE", "STABLE", "CALM",
        "ROUGH", "FRESH", "GRAY", "BRIGHT", "DARK", "HIGH", "LOW", "SLOW", "FAST", "DANGEROUS", "SAFE",
        "NICE", "BAD", "GOOD", "BEAUTIFUL", "UGLY", "PLEASANT", "FREEZING", "SCATTERED", "LOCAL",
        "UNSETTLED", "SEVERE", "MODERATE", "EXTREME", "NORMAL", "UNUSUAL", "HUMID", "STUFFY",
    ),
    "degree": (
        "MORE", "LESS", "VERY", "LITTLE", "MUCH", "SOME", "ALSO", "ONLY", "STILL", "AGAIN", "ALMOST",
        "MAYBE", "PROBABLY", "CERTAINLY", "PARTLY", "MOSTLY", "OFTEN", "RARELY", "ALWAYS", "NEVER",
        "SOMETIMES", "EXACTLY", "ABOUT", "ENOUGH", "TOO",
    ),
    "number": (
        "ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN",
        "ELEVEN", "TWELVE", "TWENTY", "THIRTY", "FORTY", "HUNDRED", "MINUS", "PLUS", "DEGREES",
        "PERCENT", "HALF", "FIRST", "SECOND", "THIRD", "LAST", "NEXT", "MANY", "FEW",
    ),
    "verb": (
        "COME", "GO", "CHANGE", "STAY", "BEGIN", "END", "RISE", "FALL", "MOVE", "BLOW", "SHINE",
        "MELT", "FREEZE", "INCREASE", "DECREASE", "REACH", "PASS", "APPEAR", "DISAPPEAR", "EXPECT",
        "WARN", "LOOK", "SEE", "SHOW", "KNOW", "THINK", "WANT", "NEED", "CAN", "MUST", "HAVE", "GIVE",
        "TAKE", "MAKE", "DRIVE", "WALK", "RUN", "SWIM", "RIDE", "FLY", "SLEEP", "EAT", "DRINK", "COOK",
        "WORK", "PLAY", "READ", "WRITE", "LEARN", "TEACH", "HELP", "WAIT", "BUY", "SELL", "PAY",
        "OPEN", "CLOSE", "WEAR", "WASH", "CLEAN", "CALL", "MEET", "VISIT", "TRAVEL", "RETURN", "LEAVE",
        "ARRIVE", "STOP", "CONTINUE", "FINISH", "TRY", "LIKE", "LOVE", "HATE", "FEEL", "HEAR", "SAY",
        "TELL", "ASK", "ANSWER", "LIVE", "DIE", "GROW", "PLANT", "HARVEST", "CARRY", "BRING", "SEND",
    ),
    "thing": (
        "HOME", "HOUSE", "SCHOOL", "OFFICE", "CAR", "TRAIN", "BUS", "BICYCLE", "PLANE", "SHIP", "ROAD",
        "STREET", "BRIDGE", "GARDEN", "PARK", "BEACH", "UMBRELLA", "COAT", "JACKET", "HAT", "SHOES",
        "GLOVES", "SCARF", "BOOTS", "WINDOW", "DOOR", "ROOF", "TREE", "FLOWER", "GRASS", "LEAF",
        "WATER", "FIRE", "STONE", "SAND", "EARTH", "FOOD", "BREAD", "COFFEE", "TEA", "MILK", "SOUP",
        "APPLE", "DINNER", "LUNCH", "BREAKFAST", "BOOK", "PAPER", "PHONE", "TELEVISION", "RADIO",
        "NEWS", "MONEY", "SHOP", "MARKET", "HOSPITAL", "DOCTOR", "CHURCH", "STATION", "AIRPORT",
        "FAMILY", "FRIEND", "CHILD", "MOTHER", "FATHER", "BROTHER", "SISTER", "TEACHER", "STUDENT",
        "FARMER", "DRIVER", "NEIGHBOR", "PEOPLE", "DOG", "CAT", "BIRD", "FISH", "HORSE", "COW",
        "SPORT", "GAME", "MUSIC", "PARTY", "BIRTHDAY", "CHRISTMAS", "EASTER", "TRIP", "VACATION",
    ),
    "pronoun": (
        "I", "YOU", "HE", "SHE", "WE", "THEY", "MY", "YOUR", "OUR", "THEIR", "HERE", "THERE", "THIS",
        "THAT", "WHO", "WHAT", "WHERE", "WHEN", "WHY", "HOW", "ALL", "NOTHING", "EVERYBODY",
    ),
    "particle": (
        "YES", "NO", "NOT", "AND", "OR", "BUT", "IF", "BECAUSE", "THEN", "WITH", "WITHOUT", "FROM",
        "TO", "UNTIL", "DURING", "BEFORE", "AFTER", "OVER", "UNDER", "AROUND", "THANKS", "PLEASE",
        "HELLO", "GOODBYE", "SORRY", "WELCOME",
    ),
}

# Rest-pose glosses that frame a sentence, as in PHOENIX-2014.
ON_GLOSS = "__ON__"
OFF_GLOSS = "__OFF__"


def all_words() -> list[tuple[str, str]]:
    """(word, category) pairs in a fixed order, each word once."""
    seen: set[str] = set()
    out = []
    for category, words in WORDS_BY_CATEGORY.items():
        for word in words:
            if word not in seen:
                seen.add(word)
                out.append((word, category))
    return out


def compound_words(count: int) -> list[tuple[str, str]]:
    """Hyphenated compounds of two real words (PHOENIX has such glosses, e.g. WIE-AUSSEHEN) to reach
    PHOENIX-scale vocabularies while every part stays a meaningful English word."""
    heads = WORDS_BY_CATEGORY["quality"] + WORDS_BY_CATEGORY["degree"]
    tails = WORDS_BY_CATEGORY["weather"] + WORDS_BY_CATEGORY["region"] + WORDS_BY_CATEGORY["thing"]
    out = []
    for i in range(count):
        head = heads[i % len(heads)]
        tail = tails[(i // len(heads) * 7 + i) % len(tails)]
        category = "weather" if tail in WORDS_BY_CATEGORY["weather"] else "thing"
        out.append((f"{head}-{tail}", category))
    return out
