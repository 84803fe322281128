"""French words, as search and themes compare them: case, accents and
plurals folded, then stemmed (Snowball's French stemmer); and the spaces
of French typography. Pure functions on text."""
import functools
import re
import unicodedata
from typing import NamedTuple

import snowballstemmer

#: Words that say nothing of a text's subject (articles, pronouns, auxiliaries…), folded.
STOPWORDS = frozenset("""
a ai aie aient aies ait alors as au aucun aura aurai auraient aurais aurait auras aurez auriez aurions aurons
auront aussi autre aux avaient avais avait avant avec avez aviez avions avoir avons ayant ayez ayons bon c ca
car ce ceci cela celle celles celui cependant certain certains ces cet cette ceux chaque chez ci comme comment
d dans de des deja donc dont du elle elles en encore entre es est et etaient etais etait etant ete etes etiez
etions etre eu eue eues eurent eus eusse eut eux fait faire fois furent fut il ils j je jusqu l la le les leur
leurs lui m ma mais me meme memes mes moi mon n ne ni nos notre nous on ont ou par parce pas peu peut plus pour
pourquoi qu quand que quel quelle quelles quels qui quoi s sa sans se sera serai seraient serais serait seras
serez seriez serions serons seront ses si sien son sont sous soyez soyons suis sur t ta te tes toi ton tous tout
toute toutes tres tu un une unes uns vers via vos votre vous y etc
""".split())

_WORD = re.compile(r"\w+(?:['’]\w+)*")
_stemmer = snowballstemmer.stemmer("french")


class Word(NamedTuple):
    start: int
    end: int
    #: What compares: folded and stemmed ("" for a stop word).
    stem: str


def fold(word: str) -> str:
    """Lower case, no accents: « Élus » -> « elus »."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The form a word is compared by; "" for a stop word. A final s
    goes first: Snowball keeps « élus » apart from « élu » (it folds -aux itself)."""
    folded = fold(word)
    if "'" in folded or "’" in folded:  # l'innovation, qu'elles: the word after the elision
        folded = re.split(r"['’]", folded)[-1]
    if folded in STOPWORDS or folded.isdigit():
        return ""
    if len(folded) > 3 and folded[-1] == "s":
        folded = folded[:-1]
    return _stemmer.stemWord(folded)


def words(text: str) -> list[Word]:
    return [Word(m.start(), m.end(), stem(m.group())) for m in _WORD.finditer(text)]


def stems(text: str) -> list[str]:
    return [w.stem for w in words(text) if w.stem]


# -- typography ------------------------------------------------------------------------

_BEFORE_HIGH = re.compile(r"(?<=\S)[ \u00a0]([;!?])")
_BEFORE_COLON = re.compile(r"(?<=\S) ([:»])")
_AFTER_GUILLEMET = re.compile(r"« ")
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")


def typography(text: str) -> str:
    """The spaces French typography asks for, where a space was typed: a
    narrow no-break space before ; ! ?, a no-break space before : and »,
    after «; and the typographic apostrophe."""
    text = _BEFORE_HIGH.sub("\u202f\\1", text)
    text = _BEFORE_COLON.sub("\u00a0\\1", text)
    text = _AFTER_GUILLEMET.sub("«\u00a0", text)
    return _APOSTROPHE.sub("\u2019", text)
