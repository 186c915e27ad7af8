#!/usr/bin/python3
"""Writes porter_nltk.tsv.gz: words and their stems by nltk's PorterStemmer in
its default mode (NLTK_EXTENSIONS), the stemmer of rouge-score's
use_stemmer=True. Each line is "word<TAB>stem".

Run with the nltk to compare against (Debian's python3-nltk 3.8 made the
committed file; nltk/stem/porter.py has not changed since):

    /usr/bin/python3 porter_nltk.py /usr/share/dict/american-english

The words, each lower case ASCII letters and digits as rouge-score's
tokenizer gives them:
  - every line of the word list (Debian's wamerican, from SCOWL) that is
    letters a-z only once lower-cased;
  - 300 of those words, picked with a fixed seed, each followed by every
    suffix that a rule of the algorithm tests for;
  - every string of 1 to 4 letters over "aeiysdlngt", which reach the
    short-word cases (measure 0 and 1, y as vowel or consonant, cvc);
  - 20000 random strings of 1 to 14 characters, seeded, over letters that
    the rules test and some digits.
"""
import gzip
import itertools
import random
import re
import sys

import nltk
from nltk.stem.porter import PorterStemmer

SUFFIXES = """sses ies ss s ied eed ed ing at bl iz y ational tional enci anci
izer bli abli alli entli eli ousli ization ation ator alism iveness fulness
ousness aliti iviti biliti fulli logi icate ative alize iciti ical ful ness al
ance ence er ic able ible ant ement ment ent ion sion tion ou ism ate iti ous
ive ize e ll ings ying""".split()


def main(wordlist):
    stemmer = PorterStemmer()  # mode=NLTK_EXTENSIONS
    assert stemmer.mode == PorterStemmer.NLTK_EXTENSIONS
    words = []
    seen = set()

    def add(w):
        if w not in seen:
            seen.add(w)
            words.append(w)

    with open(wordlist, encoding="utf-8") as f:
        dictionary = sorted({w for w in (l.strip().lower() for l in f) if re.fullmatch(r"[a-z]+", w)})
    for w in dictionary:
        add(w)
    rng = random.Random(1980)
    for base in rng.sample(dictionary, 300):
        for suf in SUFFIXES:
            add(base + suf)
    for n in range(1, 5):
        for t in itertools.product("aeiysdlngt", repeat=n):
            add("".join(t))
    alphabet = "aeiouy" * 3 + "bcdglmnrstvwxz" + "llssttee" + "0123456789"
    for _ in range(20000):
        add("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14))))

    with gzip.GzipFile("porter_nltk.tsv.gz", "wb", mtime=0) as out:
        out.write(("# nltk %s PorterStemmer(mode=NLTK_EXTENSIONS).stem(word)\n" % nltk.__version__).encode())
        for w in words:
            out.write(("%s\t%s\n" % (w, stemmer.stem(w))).encode())
    print(len(words), "words")


if __name__ == "__main__":
    main(sys.argv[1])
