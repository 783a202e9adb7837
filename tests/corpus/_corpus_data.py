"""Local data for the corpus programs, in place of their downloads.

NumPy only (no fastnn, no Keras), so a program runs the same under fastnn's runner and
under real Keras.  Every loader returns what the Keras loader it replaces returns
(shapes, dtypes, label ranges), shrunk to a few hundred samples.
"""
import os

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
_DATA = os.path.join(_HERE, "..", "..", "fastnn", "datasets", "data")


def fashion_mnist(n_train=600, n_test=200):
    """`(x_train, y_train), (x_test, y_test)` as keras.datasets.(fashion_)mnist.load_data():
    uint8 images (n, 28, 28), uint8 labels 0-9 (fastnn's shipped Fashion-MNIST subset)."""
    with np.load(os.path.join(_DATA, "fashion_mnist_subset.npz")) as d:
        return ((d["x_train"][:n_train], d["y_train"][:n_train]),
                (d["x_test"][:n_test], d["y_test"][:n_test]))


def cifar10(n_train=300, n_test=100, seed=0):
    """As keras.datasets.cifar10.load_data(): uint8 (n, 32, 32, 3), uint8 labels (n, 1);
    synthetic images whose mean colour depends on the class, so a model can learn."""
    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 10, size=(n, 1)).astype(np.uint8)
        base = (y[:, :, None, None] * 23 % 255).astype(np.float64)
        x = base.reshape(n, 1, 1, 1) + rng.normal(0, 30, size=(n, 32, 32, 3))
        return np.clip(x, 0, 255).astype(np.uint8), y
    return make(n_train), make(n_test)


def imdb(num_words=1000, n_train=400, n_test=200, seed=0):
    """As keras.datasets.imdb.load_data(num_words=...): object arrays of int lists
    (word indices 1..num_words-1, starting with 1), labels 0/1; a label's reviews favour
    its own half of the vocabulary."""
    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 2, size=n)
        xs = []
        for label in y:
            length = int(rng.integers(20, 120))
            half = rng.integers(2 + label * (num_words // 2), (1 + label) * (num_words // 2),
                                size=length // 2)
            rest = rng.integers(2, num_words, size=length - length // 2)
            xs.append([1] + list(np.concatenate([half, rest]).astype(int)))
        out = np.empty(n, dtype=object)
        out[:] = xs
        return out, y.astype(np.int64)
    return make(n_train), make(n_test)


def reuters(num_words=1000, n_train=400, n_test=200, seed=1):
    """As keras.datasets.reuters.load_data(num_words=...): int lists, labels 0..45."""
    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 46, size=n)
        xs = []
        for label in y:
            length = int(rng.integers(20, 80))
            topic = rng.integers(2 + label * 20, 22 + label * 20, size=length // 2) % num_words
            rest = rng.integers(2, num_words, size=length - length // 2)
            xs.append([1] + list(np.concatenate([topic, rest]).astype(int)))
        out = np.empty(n, dtype=object)
        out[:] = xs
        return out, y.astype(np.int64)
    return make(n_train), make(n_test)


def boston_housing(n_train=300, n_test=100, seed=2):
    """As keras.datasets.boston_housing.load_data(): float64 (n, 13), prices (n,)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=13)

    def make(n):
        x = rng.normal(size=(n, 13)) * rng.uniform(1, 50, size=13) + rng.uniform(0, 100, 13)
        y = 22 + ((x - x.mean(0)) / x.std(0)) @ w + rng.normal(0, 1, size=n)
        return x, y
    return make(n_train), make(n_test)


def iris():
    """Iris as (features float64 (150, 4), species names (150,)), from fastnn's shipped CSV."""
    rows = np.genfromtxt(os.path.join(_DATA, "iris.csv"), delimiter=",", skip_header=1,
                         dtype=None, encoding="utf-8")
    x = np.array([[r[0], r[1], r[2], r[3]] for r in rows], dtype=np.float64)
    return x, np.array([r[4] for r in rows])


# A few paragraphs written for the corpus (no download), for character-level models.
_PROSE = (
    "The river ran slowly past the mill, and the miller watched it from his door as he "
    "had watched it every morning for forty years. In spring it was brown and loud with "
    "the snow of the hills; in summer it was clear and low, and the children of the "
    "village waded across it to the meadows on the other side. He knew its moods as a "
    "man knows the moods of an old friend, and he did not expect it to change. "
    "One autumn a stranger came along the road with a pack on his back and asked for "
    "water. The miller gave him a cup and a place by the fire, and they talked late into "
    "the night of roads and rivers, of towns the miller had never seen and would never "
    "see. In the morning the stranger was gone, but he had left a small book on the "
    "bench, and in it were drawings of rivers from every country he had walked through. "
    "The miller turned the pages for a long time. Then he went out to his door and "
    "looked at his own river, and for the first time in forty years it seemed to him "
    "that it was going somewhere. "
)


def text(repeat=3):
    """Lower-case prose of a few thousand characters, as the keras.io character-level
    example reads its text file (`f.read().lower()`)."""
    return (_PROSE * repeat).lower()


_TOPICS = {
    "alt.atheism": "belief god religion faith argument moral church bible atheist truth",
    "comp.graphics": "image graphics polygon render pixel color format software display "
                     "modeling",
    "rec.autos": "car engine dealer drive wheel speed oil brake ford highway",
    "sci.space": "orbit launch nasa shuttle moon satellite rocket space mission planet",
}
_COMMON = ("the a of to and in is that it for on with as this was be by are not have "
           "but what all were when we there can an your which their said if do will cat "
           "sat mat")


def newsgroups(root=".", per_topic=40, seed=3):
    """A small stand-in for the 20 Newsgroups archive keras.utils.get_file untars: writes
    `root/20_newsgroup/<topic>/<number>` files (10 header lines, then a body whose words
    lean to the topic; `comp.graphics/38987` among them) and returns a path whose parent
    holds `20_newsgroup`, as the keras.io example uses get_file's result."""
    rng = np.random.default_rng(seed)
    common = _COMMON.split()
    base = os.path.join(root, "20_newsgroup")
    for t, (topic, words) in enumerate(sorted(_TOPICS.items())):
        folder = os.path.join(base, topic)
        os.makedirs(folder, exist_ok=True)
        words = words.split()
        for k in range(per_topic):
            number = 38987 if topic == "comp.graphics" and k == 0 else 50000 + 100 * t + k
            header = [f"Newsgroup: {topic}", f"Document_id: {number}",
                      f"From: user{k}@example.org", "Subject: re: a question"] + [""] * 6
            body = " ".join(rng.choice(words if rng.random() < 0.7 else common)
                            for _ in range(int(rng.integers(30, 120))))
            with open(os.path.join(folder, str(number)), "w", encoding="latin-1") as f:
                f.write("\n".join(header + [body, ""]))
    return os.path.join(root, "news20.tar.gz")


def glove_file(path, dim=100, seed=4):
    """A small GloVe-format text file (`word v1 v2 ...` per line) covering the topic and
    common words above, plus a few words the messages never use; as in real GloVe, the
    words of a topic lie near each other."""
    rng = np.random.default_rng(seed)
    vectors = {}
    for topic, words in sorted(_TOPICS.items()):
        centre = rng.normal(0, 0.6, dim)
        for w in words.split():
            vectors[w] = centre + rng.normal(0, 0.2, dim)
    for w in _COMMON.split() + ["3d"]:
        vectors.setdefault(w, rng.normal(0, 0.2, dim))
    with open(path, "w", encoding="utf-8") as f:
        for w in sorted(vectors):
            f.write(w + " " + " ".join(f"{v:.5f}" for v in vectors[w]) + "\n")
    return path


_EN_FR = {"cat": "chat", "dog": "chien", "red": "rouge", "big": "grand", "small": "petit",
          "sees": "voit", "eats": "mange", "the": "le", "a": "un", "bird": "oiseau"}


def translation_file(path, n=240, seed=5):
    """A tab-separated file of sentence pairs in the layout of manythings.org's fra.txt
    (`english<TAB>french<TAB>attribution` per line): short sentences over a ten-word
    vocabulary, "translated" word by word."""
    rng = np.random.default_rng(seed)
    words = sorted(_EN_FR)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            en = [str(w) for w in rng.choice(words, size=int(rng.integers(1, 4)))]
            fr = [_EN_FR[w] for w in en]
            f.write(f"{' '.join(en).capitalize()}.\t{' '.join(fr).capitalize()} !\t"
                    f"written for the fastnn corpus\n")
    return path


_POSITIVE = "wonderful great loved brilliant moving superb enjoyable fine charming best"
_NEGATIVE = "awful boring hated dull weak terrible poor worst tedious mess"
_FILLER = ("the film movie story was and a of it this acting plot i to in with but "
           "is not an at its for on")


def imdb_folders(root=".", per_class=60, seed=6):
    """A small stand-in for the unpacked aclImdb archive: `aclImdb/{train,test}/{pos,neg}/
    <id>_<rating>.txt` reviews (with `<br />` tags, as the real ones have) and the
    `train/unsup` folder the keras.io example deletes.  Returns the archive's path, whose
    folder holds `aclImdb`."""
    rng = np.random.default_rng(seed)
    filler = _FILLER.split()
    base = os.path.join(root, "aclImdb")
    for split in ("train", "test"):
        for label, words in (("pos", _POSITIVE.split()), ("neg", _NEGATIVE.split())):
            folder = os.path.join(base, split, label)
            os.makedirs(folder, exist_ok=True)
            for k in range(per_class):
                n = int(rng.integers(20, 80))
                tokens = [str(rng.choice(words if rng.random() < 0.3 else filler))
                          for _ in range(n)]
                tokens.insert(n // 2, "<br /><br />")
                text = " ".join(tokens).capitalize() + "."
                rating = int(rng.integers(7, 11) if label == "pos" else rng.integers(1, 5))
                with open(os.path.join(folder, f"{k}_{rating}.txt"), "w") as f:
                    f.write(text)
    os.makedirs(os.path.join(base, "train", "unsup"), exist_ok=True)
    with open(os.path.join(base, "train", "unsup", "0_0.txt"), "w") as f:
        f.write("an unlabelled review")
    return os.path.join(root, "aclImdb_v1.tar.gz")
