"""keras.utils.get_file (fastnn/utils/file_utils.py): Keras 3's cache layout and
arguments, hashes, extraction (safe, atomic), on real files served by file:// URLs."""
import hashlib
import io
import os
import tarfile
import zipfile

import pytest

import fastnn.keras as keras

get_file = keras.utils.get_file


def serve(tmp_path, name, data):
    path = tmp_path / "server" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path.as_uri(), data


def make_tar(members, mode="w:gz"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_downloads_once_into_the_cache(tmp_path, capsys):
    url, data = serve(tmp_path, "table.csv", b"a,b\n1,2\n")
    cache = tmp_path / "cache"
    path = get_file(origin=url, cache_dir=str(cache))
    assert path == str(cache / "datasets" / "table.csv")
    assert open(path, "rb").read() == data
    assert "Downloading data from" in capsys.readouterr().out
    os.remove(tmp_path / "server" / "table.csv")  # cached: the origin is not read again
    assert get_file("table.csv", url, cache_dir=str(cache)) == path
    assert capsys.readouterr().out == ""


def test_fname_cache_subdir_and_keras_home(tmp_path, monkeypatch):
    url, _ = serve(tmp_path, "x.bin", b"123")
    assert get_file("y.bin", url, cache_subdir="mine", cache_dir=str(tmp_path / "c")) == \
        str(tmp_path / "c" / "mine" / "y.bin")
    absolute = tmp_path / "abs"
    assert get_file("z.bin", url, cache_subdir=str(absolute),
                    cache_dir=str(tmp_path / "c")) == str(absolute / "z.bin")
    monkeypatch.setattr(keras.utils.get_file.__globals__["config"], "KERAS_HOME",
                        str(tmp_path / "home"))
    assert get_file(origin=url) == str(tmp_path / "home" / "datasets" / "x.bin")


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_hashes_are_checked(tmp_path, algorithm, capsys):
    url, data = serve(tmp_path, "w.txt", b"weights")
    good = hashlib.new(algorithm, data).hexdigest()
    cache = str(tmp_path / "c")
    path = get_file(origin=url, file_hash=good, cache_dir=cache)
    with pytest.raises(ValueError, match="file hash does not match"):
        get_file("other.txt", url, file_hash="0" * len(good), cache_dir=cache)
    assert not os.path.exists(os.path.join(cache, "datasets", "other.txt"))
    # a cached file that no longer matches is fetched again
    open(path, "wb").write(b"tampered")
    assert get_file(origin=url, file_hash=good, cache_dir=cache) == path
    assert "will re-download" in capsys.readouterr().out
    assert open(path, "rb").read() == data
    assert get_file(origin=url, md5_hash=hashlib.md5(data).hexdigest(), cache_dir=cache) == path


def test_force_download_replaces_the_cached_copy(tmp_path):
    url, _ = serve(tmp_path, "v.txt", b"v1")
    cache = str(tmp_path / "c")
    path = get_file(origin=url, cache_dir=cache)
    serve(tmp_path, "v.txt", b"v2")
    assert open(get_file(origin=url, cache_dir=cache), "rb").read() == b"v1"
    get_file(origin=url, cache_dir=cache, force_download=True)
    assert open(path, "rb").read() == b"v2"


@pytest.mark.parametrize("maker, name", [(make_tar, "flowers.tgz"), (make_zip, "flowers.zip")])
def test_extract_returns_the_directory_keras_names(tmp_path, maker, name):
    url, _ = serve(tmp_path, name, maker({"flowers/a.txt": b"rose", "flowers/b/c.txt": b"tulip"}))
    cache = tmp_path / "c"
    out = get_file(origin=url, extract=True, cache_dir=str(cache))
    assert out == str(cache / "datasets" / name)
    assert (cache / "datasets" / f"{name}_archive").is_file()
    assert open(os.path.join(out, "flowers", "b", "c.txt"), "rb").read() == b"tulip"
    cache = tmp_path / "c2"  # fname with an extension: the archive keeps the name
    out2 = get_file(name, url, extract=True, cache_dir=str(cache))
    assert out2 == str(cache / "datasets" / "flowers_extracted")
    assert (cache / "datasets" / name).is_file()
    out3 = get_file("blooms", url, extract=True, cache_dir=str(cache))
    assert out3 == str(cache / "datasets" / "blooms")
    assert os.path.isfile(os.path.join(out3, "flowers", "a.txt"))


def test_untar_and_archive_format(tmp_path):
    url, _ = serve(tmp_path, "d.tar", make_tar({"f.txt": b"x"}, mode="w"))
    out = get_file("d", url, untar=True, cache_dir=str(tmp_path / "c"))
    assert os.path.isfile(os.path.join(out, "f.txt"))
    with pytest.warns(UserWarning, match="Could not extract"):
        get_file("e", url, extract=True, archive_format="zip", cache_dir=str(tmp_path / "c"))


@pytest.mark.parametrize("members", [{"../evil.txt": b"x"}, {"/abs/evil.txt": b"x"},
                                     {"ok/../../evil.txt": b"x"}])
@pytest.mark.parametrize("maker", [make_tar, make_zip])
def test_members_outside_the_directory_are_refused(tmp_path, members, maker):
    url, _ = serve(tmp_path, "bad.archive", maker({"good.txt": b"g", **members}))
    cache = tmp_path / "c"
    with pytest.raises(ValueError, match="outside the extraction directory"):
        get_file("bad", url, extract=True, cache_dir=str(cache))
    assert not (cache / "datasets" / "bad").exists()  # nothing half-extracted
    assert not list((cache / "datasets").glob(".bad.*"))
    assert not (tmp_path / "evil.txt").exists() and not (cache / "evil.txt").exists()


def test_links_and_special_files_in_a_tar_are_refused(tmp_path):
    for kind, extra in [("symlink", dict(type=tarfile.SYMTYPE, linkname="../../../etc/passwd")),
                        ("fifo", dict(type=tarfile.FIFOTYPE))]:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("item")
            for k, v in extra.items():
                setattr(info, k, v)
            tar.addfile(info)
        url, _ = serve(tmp_path, f"{kind}.tar", buf.getvalue())
        with pytest.raises(ValueError, match="Refusing to extract"):
            get_file(kind, url, extract=True, cache_dir=str(tmp_path / "c"))


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='specify the "origin"'):
        get_file("a.txt")
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        get_file("sub/a.txt", "file:///nothing", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="Can't parse the file name"):
        get_file(origin="https://example.com/", cache_dir=str(tmp_path))
    with pytest.raises(Exception, match="URL fetch failure"):
        get_file(origin=(tmp_path / "missing.bin").as_uri(), cache_dir=str(tmp_path))
    assert not os.path.exists(tmp_path / "datasets" / "missing.bin")
