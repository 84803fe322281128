"""The themes that come back across an event's sheets (contract section 6).

Computed here, with no network and no model to download: the sheets'
words are folded and stemmed (synthese/french.py), weighed by TF-IDF
(scikit-learn), and the sheets grouped by Ward's hierarchical clustering on
those weights, the number of groups chosen by the silhouette of the grouping. Each group that holds two sheets
or more is a theme; its label is the phrase of its sheets that best sets it
apart from the others, its terms the words that weigh most in it, and each
of its sheets comes with the sentence that shows the theme best.

Pure: sheets in (id, title, fields), themes out.
"""
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from . import french
from .markdown import parse_title

#: The sections whose text says what an atelier was about (not who was there).
SECTIONS = ("question", "synthese", "discussion")
#: Themes at most, and terms shown per theme.
MAX_THEMES = 12
TERMS = 6
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")


@dataclass
class Sheet:
    id: int
    title: str
    fields: dict[str, str]


@dataclass
class Theme:
    label: str
    terms: list[str]
    #: (sheet id, the sentence that shows the theme), best first.
    ateliers: list[tuple[int, str]] = field(default_factory=list)


def _text(sheet: Sheet) -> str:
    theme = parse_title(sheet.title)[1]
    return "\n".join([theme] + [sheet.fields.get(key, "") or "" for key in SECTIONS])


def _sentences(text: str) -> list[str]:
    return [s.strip(" -*•\t") for s in _SENTENCE.split(text) if len(s.split()) >= 3]


def _phrases(text: str) -> list[tuple[tuple[str, ...], str]]:
    """Candidate labels: runs of 1 to 3 content words, with « de », « du »,
    « des », « la », « à » allowed inside (« qualité de vie au travail » is
    one phrase); as (stems, the words as written)."""
    found = []
    for sentence in _sentences(text) or [text]:
        words = french.words(sentence)
        for i, first in enumerate(words):
            if not first.stem:
                continue
            stems, inner = [first.stem], 0
            for j in range(i + 1, min(len(words), i + 6)):
                w = words[j]
                if w.stem:
                    stems.append(w.stem)
                    found.append((tuple(stems), sentence[first.start:w.end]))
                    if len(stems) == 3:
                        break
                elif french.fold(sentence[w.start:w.end]) in _JOINING and inner < 2:
                    inner += 1
                else:
                    break
            found.append(((first.stem,), sentence[first.start:first.end]))
    return found


_JOINING = {"de", "du", "des", "la", "le", "les", "a", "au", "aux", "d", "l", "en", "et"}


def themes(sheets: list[Sheet], max_themes: int = MAX_THEMES) -> list[Theme]:
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import silhouette_score

    sheets = [s for s in sheets if len(french.stems(_text(s))) >= 5]
    if len(sheets) < 4:
        return []
    texts = [_text(s) for s in sheets]
    vectorizer = TfidfVectorizer(analyzer=french.stems, min_df=2, max_df=0.5, sublinear_tf=True)
    try:
        weights = vectorizer.fit_transform(texts)
    except ValueError:  # no word comes back in two sheets
        return []
    vocabulary = vectorizer.get_feature_names_out()
    dense = weights.toarray()
    best = None
    # Silhouette alone favours many small groups on few sheets: at most
    # about √n themes (5 for 24 sheets, 10 for 100).
    for k in range(2, min(max_themes, round(math.sqrt(len(sheets)))) + 1):
        # Ward on the (unit-length) TF-IDF rows: deterministic, and on the
        # fixture it agrees best with the topics (k-means: 0.49-0.86 by seed).
        labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(dense)
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(weights, labels, metric="cosine")
        if best is None or score > best[0]:
            best = (score, labels)
    if best is None:
        return []
    labels = best[1]
    groups = defaultdict(list)
    for index, label in enumerate(labels):
        groups[label].append(index)
    surface = _surface_forms(texts)
    phrases = [_phrases(t) for t in texts]
    document_frequency = Counter(p for found in phrases for p in {stems for stems, _ in found})
    found = []
    for members in groups.values():
        if len(members) < 2:
            continue
        centroid = dense[members].mean(axis=0)
        top = [vocabulary[i] for i in np.argsort(centroid)[::-1][:TERMS] if centroid[i] > 0]
        weight = dict(zip(vocabulary, centroid))
        label = _label(members, phrases, document_frequency, len(sheets), weight) or surface[top[0]]
        theme = Theme(label=label[:1].upper() + label[1:], terms=[surface[t] for t in top])
        scored = []
        for index in members:
            sentences = _sentences(texts[index]) or [texts[index]]
            sentence = max(sentences, key=lambda s: sum(weight.get(stem, 0) for stem in set(french.stems(s))))
            scored.append((float(dense[index] @ centroid), sheets[index].id, sentence))
        theme.ateliers = [(sheet_id, sentence) for _, sheet_id, sentence in sorted(scored, reverse=True)]
        found.append(theme)
    found.sort(key=lambda t: -len(t.ateliers))
    return found


def _surface_forms(texts: list[str]) -> dict[str, str]:
    """Each stem's most frequent spelling, in lower case (« données » for « donne »)."""
    seen = defaultdict(Counter)
    for text in texts:
        for w in french.words(text):
            if w.stem:
                seen[w.stem][_unelided(text[w.start:w.end].lower())] += 1
    return {stem: spellings.most_common(1)[0][0] for stem, spellings in seen.items()}


def _unelided(word: str) -> str:
    """« d'énergie » -> « énergie »."""
    return re.split(r"['’]", word)[-1]


def _label(members, phrases, document_frequency, total, weight: dict[str, float]) -> str | None:
    """The phrase most proper to these sheets: found in several of them,
    rare elsewhere, made of the words that weigh most in the theme; longer
    phrases preferred when as good."""
    heaviest = max(weight.values()) or 1.0
    inside = Counter()
    spelled = defaultdict(Counter)
    for index in members:
        for stems, written in phrases[index]:
            spelled[stems][written.lower()] += 1
        for stems in {stems for stems, _ in phrases[index]}:
            inside[stems] += 1
    best, best_score = None, 0.0
    for stems, count in inside.items():
        carried = sum(weight.get(stem, 0.0) for stem in set(stems)) / len(set(stems)) / heaviest
        if count < 2 or not carried:
            continue
        elsewhere = document_frequency[stems] - count
        score = (count / len(members) * math.log((total + 1) / (1 + elsewhere)) * carried
                 * (1 + 0.6 * (len(stems) - 1)))
        if score > best_score:
            best, best_score = stems, score
    return spelled[best].most_common(1)[0][0] if best else None
