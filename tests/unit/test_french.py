"""French words as search and themes compare them, and French typography."""
from synthese import french


def test_case_accents_and_plurals_fold_to_one_stem():
    assert len({french.stem(w) for w in ["Élus", "élu", "ELUS", "elu"]}) == 1
    assert len({french.stem(w) for w in ["collectivités", "Collectivité", "collectivite"]}) == 1
    assert len({french.stem(w) for w in ["données", "donnée", "DONNEES"]}) == 1
    assert french.stem("services") == french.stem("service")
    assert french.stem("participation") == french.stem("participations")
    assert french.stem("chevaux") == french.stem("cheval")
    assert french.stem("innovation") != french.stem("inovation")  # no fuzzy matching


def test_stop_words_and_elisions():
    assert french.stems("Les élus et l'innovation, c'est pour qu'elles avancent") == [
        french.stem("élus"), french.stem("innovation"), french.stem("avancent")]
    assert french.stems("le la les de des 2026") == []


def test_words_keep_their_place_in_the_text():
    text = "Un tiers-lieu, des habitants !"
    found = [(text[w.start:w.end], w.stem) for w in french.words(text) if w.stem]
    assert [word for word, _ in found] == ["tiers", "lieu", "habitants"]


def test_typography():
    assert french.typography("Une question ? Oui : « vraiment » ! l'idée ; fin") == \
        "Une question\u202f? Oui\u00a0: «\u00a0vraiment\u00a0»\u202f! l\u2019idée\u202f; fin"
    # Nothing added where no space was typed; URLs untouched.
    assert french.typography("https://example.org/a?b=c") == "https://example.org/a?b=c"
