"""The code version that every manifest entry and netCDF history records changes with any edit to the source."""

from bio_sleep.netcdf import history_line
from bio_sleep.version import code_version, package_version, source_digest


def test_the_source_digest_changes_with_an_edit_a_new_file_or_a_rename(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "notes.txt").write_text("not code")
    folders = [("bio_sleep", tmp_path / "pkg")]
    before = source_digest(folders)
    (tmp_path / "pkg" / "notes.txt").write_text("still not code")
    assert source_digest(folders) == before
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    edited = source_digest(folders)
    (tmp_path / "pkg" / "configs").mkdir()
    (tmp_path / "pkg" / "configs" / "default.toml").write_text("seed = 0\n")
    added = source_digest(folders)
    (tmp_path / "pkg" / "a.py").rename(tmp_path / "pkg" / "b.py")
    assert len({before, edited, added, source_digest(folders)}) == 4


def test_an_installed_wheel_and_an_editable_install_of_the_same_code_have_one_digest(tmp_path):
    for layout in ("wheel/bio_sleep/equations", "editable/bio_sleep", "editable/equations"):
        (tmp_path / layout).mkdir(parents=True)
    for root in ("wheel/bio_sleep", "editable/bio_sleep"):
        (tmp_path / root / "cli.py").write_text("main = 1\n")
    for root in ("wheel/bio_sleep/equations", "editable/equations"):
        (tmp_path / root / "neurons.py").write_text("tau = 1\n")
    wheel = [
        ("bio_sleep", tmp_path / "wheel/bio_sleep"),
        ("bio_sleep.equations", tmp_path / "wheel/bio_sleep/equations"),
    ]
    editable = [
        ("bio_sleep", tmp_path / "editable/bio_sleep"),
        ("bio_sleep.equations", tmp_path / "editable/equations"),
    ]
    assert source_digest(wheel) == source_digest(editable)
    (tmp_path / "editable/equations/neurons.py").write_text("tau = 2\n")
    assert source_digest(wheel) != source_digest(editable)


def test_the_code_version_is_the_package_version_and_a_hash_and_stamps_every_netcdf():
    version, _, digest = code_version().partition("+")
    assert version == package_version() and len(digest) == 12 and int(digest, 16) >= 0
    assert history_line("bio-sleep run").endswith(f"bio-sleep run (bio_sleep {code_version()})")
