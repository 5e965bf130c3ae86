"""The peer schemes against their papers' definitions, their keys, colour images, and the attacks that fit them."""

from __future__ import annotations

import numpy as np
import pytest

from disguisednets.attacks.instahide import mixture_picture
from disguisednets.attacks.known_pair import block_key_from_pairs, etc_variants, value_key_from_pairs
from disguisednets.keys import DisguiseKey, KeyFileError
from disguisednets.mechanisms import generate_key, load_key, make_mechanism, validate_key_arrays
from disguisednets.mechanisms.etc import dihedral
from disguisednets.mechanisms.instahide import mixing_coefficients

RNG = np.random.default_rng(0)
GRAY = RNG.integers(0, 256, (6, 8, 8)).astype(np.uint8)
COLOUR = RNG.integers(0, 256, (5, 8, 8, 3)).astype(np.uint8)


def blocks(x, b):  # (N, H, W[, C]) → (N, t, b, b[, C]) by explicit loops over block positions: the definition
    n, h, w = x.shape[:3]
    return np.stack([x[:, r:r + b, c:c + b] for r in range(0, h, b) for c in range(0, w, b)], axis=1)


# ------------------------------------------------------------------------------------------------ EtC

@pytest.mark.parametrize("images", [GRAY, COLOUR], ids=["gray", "rgb"])
def test_etc_is_scrambling_then_rotation_flip_then_negative_positive_then_colour_shuffle(images):
    key = generate_key("etc", images.shape[1:], 4, seed=1)
    y = make_mechanism(key).disguise(images)
    assert y.shape == images.shape and y.dtype == np.uint8
    perm, orient, neg = key.array("permutation"), key.array("orientation"), key.array("negative")
    order = key.array("channel_order")
    x, got = blocks(images, 4), blocks(y, 4)
    for j in range(len(perm)):  # position by position, the steps as the papers state them
        expect = np.rot90(x[:, perm[j]], k=orient[j] % 4, axes=(1, 2))
        if orient[j] >= 4:
            expect = np.flip(expect, axis=2)
        if neg[j]:
            expect = 255 - expect
        if images.ndim == 4:
            shuffled = np.empty_like(expect)
            shuffled[..., order[j]] = expect   # channel c becomes channel order[j][c]
            expect = shuffled
        np.testing.assert_array_equal(got[:, j], expect)
    np.testing.assert_array_equal(make_mechanism(key).restore(y), images)
    np.testing.assert_array_equal(key.array("label_map"), np.arange(10))  # the scheme has no label map


def test_etc_uses_all_symmetries_and_both_signs_and_one_key_for_every_image():
    key = generate_key("etc", (32, 32), 2, seed=3)  # 256 block positions
    assert set(key.array("orientation")) == set(range(8)) and set(key.array("negative")) == {0, 1}
    two = np.concatenate([GRAY[:1], GRAY[:1]])
    y = make_mechanism(generate_key("etc", (8, 8), 4, seed=0)).disguise(two)
    np.testing.assert_array_equal(y[0], y[1])   # deterministic: the same image, the same encryption


def test_etc_refuses_pixels_that_are_not_bytes():
    m = make_mechanism(generate_key("etc", (8, 8), 4, seed=0))
    with pytest.raises(ValueError, match="8-bit"):
        m.disguise(GRAY.astype(np.float32) + 0.5)


# ------------------------------------------------------------------------------------ learnable (Tanaka)

@pytest.mark.parametrize("images", [GRAY, COLOUR], ids=["gray", "rgb"])
def test_learnable_encryption_splits_nibbles_flips_and_shuffles_with_one_key_for_every_block(images):
    key = generate_key("learnable", images.shape[1:], 4, seed=2)
    y = make_mechanism(key).disguise(images)
    c = 1 if images.ndim == 3 else 3
    assert y.shape == images.shape[:3] + (2 * c,) and y.dtype == np.uint8 and y.max() <= 15
    x = blocks(images if images.ndim == 4 else images[..., None], 4)        # (N, t, 4, 4, C)
    nib = np.concatenate([x // 16, x % 16], axis=-1).reshape(*x.shape[:2], -1)  # upper nibbles, then lower
    flipped = np.where(key.array("negative").astype(bool), 15 - nib, nib)
    expect = flipped[..., key.array("shuffle")]
    np.testing.assert_array_equal(blocks(y, 4).reshape(expect.shape), expect)
    np.testing.assert_array_equal(make_mechanism(key).restore(y), images)


def test_learnable_restore_refuses_values_above_15():
    m = make_mechanism(generate_key("learnable", (8, 8), 4, seed=0))
    y = m.disguise(GRAY)
    y[0, 0, 0, 0] = 16
    with pytest.raises(ValueError, match="4-bit"):
        m.restore(y)


# ----------------------------------------------------------------------------------------- InstaHide

def test_instahide_coefficients_are_normalized_half_normals_under_the_cap():
    lam = mixing_coefficients(5000, 4, 0.65, np.random.default_rng(0))
    assert np.allclose(lam.sum(1), 1) and lam.max() <= 0.65 and lam.min() >= 0
    assert lam.max() > 0.6   # the cap binds, it does not squash


def test_instahide_encoding_is_a_signed_mixture_of_k_private_images_with_mixed_labels():
    key = generate_key("instahide", (8, 8), 1, seed=0, k=4, cap=0.65, mean=30.0, std=80.0)
    m = make_mechanism(key)
    labels = np.arange(6) % 3
    e, soft, secrets = m.encode(GRAY, labels, np.random.default_rng(1))
    partners, lam = secrets["partners"], secrets["coefficients"]
    assert e.shape == GRAY.shape and e.dtype == np.float32 and (partners[:, 0] == np.arange(6)).all()
    xn = (GRAY.astype(np.float64) - 30) / 80
    mix = np.einsum("nk,nkhw->nhw", lam, xn[partners])
    np.testing.assert_allclose(np.abs(e), np.abs(mix), atol=1e-5)   # equal up to the sign of each pixel
    signs = np.sign(e) * np.sign(mix)
    assert set(np.unique(signs[np.abs(mix) > 1e-3])) == {-1.0, 1.0}   # both signs occur
    np.testing.assert_allclose(soft.sum(1), 1, atol=1e-6)
    np.testing.assert_allclose(soft[np.arange(6), labels] >= lam[:, 0] - 1e-6, True)
    with pytest.raises(NotImplementedError, match="one-time"):
        m.restore(e)
    np.testing.assert_allclose(mixture_picture(e, 30.0, 80.0)[np.abs(mix * 80 + 30) > 60],
                               (mix * 80 + 30)[np.abs(mix * 80 + 30) > 60], atol=1e-3)


def test_instahide_trains_on_fresh_encodings_every_epoch_with_mixed_labels_and_as_they_come(tiny_cfg):
    """As the reference code trains (``train_inside.py``: ``generate_sample`` every epoch): new partners,
    coefficients and signs each epoch, labels mixed with the same coefficients, and the network takes
    the normalized encodings as they are (no second standardization)."""
    from disguisednets.gridpoint import GridPoint
    from disguisednets.models import AlexNet
    from disguisednets.training import fit_classifier

    cfg = tiny_cfg("mechanism=instahide", "trainer.max_epochs=3", "trainer.precision=32-true")
    assert cfg.mechanism.fresh_encodings
    point = GridPoint.build(cfg)
    encode = point.train_encodings()
    (e0, y0), (e1, y1), (e2, y2) = encode(0), encode(1), encode(2)
    x, labels = point.splits.train
    assert not np.allclose(np.abs(e0), np.abs(e1)) and not np.allclose(np.abs(e1), np.abs(e2))
    np.testing.assert_allclose(np.abs(e1), np.abs(encode(1)[0]))   # an epoch's set is reproducible
    for soft in (y0, y1, y2):
        np.testing.assert_allclose(soft.sum(1), 1, atol=1e-6)
        assert 1 <= (soft > 0).sum(1).min() and (soft > 0).sum(1).max() <= 4   # up to k classes mixed
    # the mixed label weights the labels of the encoding's own image and its partners by their coefficients
    key_mech = point.mechanism
    e, soft, secrets = key_mech.encode(x, labels, np.random.default_rng(0))
    expect = np.zeros_like(soft)
    for j in range(4):
        np.add.at(expect, (np.arange(len(x)), labels[secrets["partners"][:, j]]), secrets["coefficients"][:, j])
    np.testing.assert_allclose(soft, expect, atol=1e-6)
    assert GridPoint.build(tiny_cfg("mechanism=instahide", "mechanism.fresh_encodings=false")).train_encodings() is None

    calls = []

    def recorded(epoch):
        calls.append(epoch)
        return encode(epoch)
    train, val, test = point.disguised_splits()
    _, data, _ = fit_classifier(cfg.trainer, AlexNet(28, width=0.125), train, val, test, seed=0,
                                train_epoch=recorded, standardize=False)
    assert calls == [1, 2]                         # epochs 1 and 2 train on new sets; epoch 0 on the first
    assert float(data.std) == 1 and not data.mean.any()


def test_instahide_settings_are_checked():
    with pytest.raises(ValueError, match="block_size must be 1"):
        generate_key("instahide", (8, 8), 4)
    with pytest.raises(ValueError, match="cap"):
        generate_key("instahide", (8, 8), 1, k=4, cap=0.2)


# ------------------------------------------------------------------------------- keys and colour

@pytest.mark.parametrize("mechanism, block", [("etc", 4), ("learnable", 4), ("instahide", 1)])
def test_peer_keys_round_trip_through_files_and_refuse_tampering(tmp_path, mechanism, block):
    key = generate_key(mechanism, (8, 8, 3), block)
    path = key.save(tmp_path / "k.key")
    assert load_key(path) == key
    arrays = {name: key.array(name) for name in type(make_mechanism(key)).key_arrays(key.spec)}
    broken = dict(arrays, label_map=np.zeros_like(arrays["label_map"]))
    with pytest.raises(KeyFileError, match="not a permutation"):
        validate_key_arrays(key.spec, broken)
    if mechanism == "etc":
        with pytest.raises(KeyFileError, match="outside 0..7"):
            validate_key_arrays(key.spec, dict(arrays, orientation=arrays["orientation"] + 8))
        with pytest.raises(KeyFileError, match="channel_order"):
            validate_key_arrays(key.spec, dict(arrays, channel_order=np.zeros_like(arrays["channel_order"])))
    if mechanism == "learnable":
        with pytest.raises(KeyFileError, match="shuffle"):
            validate_key_arrays(key.spec, dict(arrays, shuffle=np.zeros_like(arrays["shuffle"])))


@pytest.mark.parametrize("mechanism, block", [("permutation", 4), ("rmt", 4), ("aes_ecb", 4), ("etc", 4),
                                               ("learnable", 4)])
def test_colour_images_round_trip_exactly_and_the_key_is_the_same_for_every_channel(mechanism, block):
    key = generate_key(mechanism, (8, 8, 3), block, seed=0)
    m = make_mechanism(key)
    y = m.disguise(COLOUR)
    restored = m.restore(y)
    if mechanism == "rmt":
        np.testing.assert_allclose(restored, COLOUR, atol=1e-3)
    else:
        np.testing.assert_array_equal(restored, COLOUR)
    if mechanism in ("permutation", "rmt", "aes_ecb"):  # one key for every channel: the colour key's arrays
        spec = key.spec | {"image_shape": [8, 8]}        # on one channel give that channel of the colour output
        same = make_mechanism(DisguiseKey(spec, {k: key.array(k) for k in type(m).key_arrays(spec)}, experiment=True))
        for c in range(3):
            np.testing.assert_allclose(y[..., c], same.disguise(COLOUR[..., c]), atol=1e-4)


def test_colour_images_of_the_wrong_shape_are_refused_with_the_expected_shape():
    m = make_mechanism(generate_key("permutation", (8, 8, 3), 4, seed=0))
    with pytest.raises(ValueError, match=r"\(N, 8, 8, 3\)"):
        m.disguise(GRAY)


# -------------------------------------------------------------------------------------- known pairs

def test_known_pair_attack_reads_an_etc_key_off_pairs():
    x = RNG.integers(0, 256, (3, 16, 16)).astype(np.uint8)   # random pixels: no ambiguous blocks
    key = generate_key("etc", (16, 16), 4, seed=5)
    y = make_mechanism(key).disguise(x)
    b = lambda z: blocks(z, 4)  # noqa: E731
    source, variant = block_key_from_pairs(b(x)[:1], b(y)[:1], etc_variants(b(x)[:1]))
    np.testing.assert_array_equal(source, key.array("permutation"))
    np.testing.assert_array_equal(variant, key.array("orientation") + 8 * key.array("negative"))
    assert np.array_equal(dihedral(b(x), np.full(16, 0), axes=(-2, -1)), b(x))


def test_known_pair_attack_reads_a_learnable_key_off_one_pair():
    key = generate_key("learnable", (16, 16), 4, seed=5)
    x = RNG.integers(0, 256, (1, 16, 16)).astype(np.uint8)
    y = make_mechanism(key).disguise(x)
    plain = blocks(np.concatenate([x[..., None] // 16, x[..., None] % 16], -1), 4).reshape(16, -1)
    source, flipped = value_key_from_pairs(plain, blocks(y, 4).reshape(16, -1))
    shuffle = key.array("shuffle")
    np.testing.assert_array_equal(source, shuffle)
    np.testing.assert_array_equal(flipped, key.array("negative")[shuffle].astype(bool))


def test_linkage_to_any_mixed_image_counts_a_partner_but_not_a_stranger():
    from disguisednets.attacks.metrics import linkage_rate

    originals = RNG.integers(0, 256, (4, 8, 8)).astype(np.float32)
    recon = originals[[1, 0, 3, 2]]                      # each reconstruction shows another image
    partners = np.array([[0, 1], [1, 2], [2, 0], [3, 2]])  # rows 0 and 3 mixed the image they show; 1 and 2 did not
    assert linkage_rate(recon, originals) == 0
    assert linkage_rate(recon, originals, candidates=partners) == 50


def test_nibble_statistics_reads_the_learnable_key_off_disguised_mnist_alone():
    """Level (a): one key for every block makes the disguised data's statistics give the key away."""
    from disguisednets.attacks.nibble_statistics import nibble_statistics_attack
    from disguisednets.data import load_dataset
    from disguisednets.mechanisms.blocks import to_blocks, to_channel_blocks

    x = load_dataset("mnist").train_images
    key = generate_key("learnable", (28, 28), 4, seed=3)
    y = make_mechanism(key).disguise(x[:3000])
    observed = to_channel_blocks(y, 4).reshape(-1, 32)
    source, flipped = nibble_statistics_attack(observed, to_blocks(x[50000:52000], 4).reshape(-1, 16))
    shuffle = key.array("shuffle")
    np.testing.assert_array_equal(flipped, key.array("negative")[shuffle].astype(bool))   # every flip
    nibble = source % 2 == shuffle % 2
    assert nibble.all()                                                # every upper/lower nibble told apart
    # places: right up to one of the block's 8 symmetries, the same for every pixel
    true_place, found_place = shuffle // 2, source // 2
    grid = np.arange(16).reshape(4, 4)
    matches = [np.mean(dihedral(grid[None, None], np.array([g]), axes=(-2, -1))[0, 0].ravel()[found_place]
                       == true_place) for g in range(8)]
    assert max(matches) == 1.0


def test_settings_the_peers_cannot_honour_are_refused_before_any_work():
    from disguisednets.gridpoint import check_settings
    from tests.conftest import compose_config

    with pytest.raises(ValueError, match="theft.enabled=true with mechanism=etc"):
        check_settings(compose_config(["mechanism=etc", "theft.enabled=true"]))
    check_settings(compose_config(["mechanism=etc"]))


def test_the_oriented_jigsaw_solves_etc_with_7x7_blocks_from_disguised_mnist_alone():
    """Level (a) on EtC: signs from the disguised data, then the jigsaw with 8 symmetries per block and the
    global symmetry from public images give the whole key back on MNIST with 7×7 blocks."""
    from disguisednets.attacks.registry import ATTACKS, Knowledge, attacker_view
    from disguisednets.data import load_dataset

    x = load_dataset("mnist").train_images
    key = generate_key("etc", (28, 28), 7, seed=4)
    m = make_mechanism(key)
    view = attacker_view(key, None, False, (28, 28))
    k = Knowledge(view, m.disguise(x[:200]), observed=m.disguise(x[1000:4000]), public=x[50000:51000])
    result = ATTACKS["jigsaw"].reconstruct(k, {"starts": 64, "max_observed": None})
    assert result.extras["key_recovered"] == 100
    np.testing.assert_array_equal(result.images, x[:200])


def test_the_peers_table_takes_instahides_accuracy_from_the_reference_recipe():
    """InstaHide's row reads its accuracy from experiment instahide_curve's ResNet-18 trainings on fresh
    encodings (the reference recipe), not from AlexNet or one set of encodings."""
    from types import SimpleNamespace

    from disguisednets.reporting.peers import peers_markdown, reference_instahide
    from disguisednets.reporting.runs import Runs

    def run(kind, acc=None, **params):
        p = {"mechanism.name": params.pop("mech", "instahide"), "mechanism.block_size": "1", "mechanism.k": "4",
             "trainer.max_epochs": "12", "model.width": "0.25", **params}
        tags = {"kind": kind, "dataset": "mnist", "mechanism": p["mechanism.name"], "threat_level": "a",
                "attack": "instahide_carlini"}
        metrics = {"test_acc": acc} if acc is not None else {"success_rate": 80.0, "linkage_rate": 40.0}
        return SimpleNamespace(data=SimpleNamespace(params=p, tags=tags, metrics=metrics))

    curve = Runs("instahide_curve", [
        run("train", 91.0, **{"model.name": "alexnet", "mechanism.fresh_encodings": "True"}),
        run("train", 97.0, **{"model.name": "resnet18", "mechanism.fresh_encodings": "True"}),
        run("train", 95.0, **{"model.name": "resnet18", "mechanism.fresh_encodings": "False"})])
    reference = reference_instahide(curve)
    assert [r.data.metrics["test_acc"] for r in reference.runs] == [97.0]
    peers = Runs("peers", [run("train", 99.0, mech="none", **{"model.name": "alexnet"}),
                           run("attack", **{"attack.known_pairs": "0"})])
    row = next(line for line in peers_markdown(peers, "test", instahide=reference).splitlines()
               if line.startswith("| mnist | InstaHide"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "97.0" and cells[4] == "2.0"
    assert "resnet18 w0.25, 12 epochs, fresh encodings every epoch" in cells[2]


def test_the_challenges_attacks_join_the_peers_table_on_their_own_setting():
    """An attack run of experiment `challenge` on a peer's setting (the same block size and ε) is one more attack
    on that row — here the best at level (a) — and one more line of "Every attack run"; one on another ε is not."""
    from types import SimpleNamespace

    from disguisednets.reporting.peers import peers_markdown
    from disguisednets.reporting.runs import Runs

    def run(kind, attack="dp_denoise", eps="", success=50.0, acc=None, mech="dp_pixelization"):
        p = {"mechanism.name": mech, "mechanism.block_size": "4", "mechanism.m": "16", "attack.known_pairs": "0",
             **({"mechanism.epsilon": eps} if eps else {})}
        tags = {"kind": kind, "dataset": "mnist", "mechanism": mech, "threat_level": "a", "attack": attack}
        metrics = {"test_acc": acc} if acc is not None else {"success_rate": success, "linkage_rate": success / 2}
        return SimpleNamespace(data=SimpleNamespace(params=p, tags=tags, metrics=metrics))

    peers = Runs("peers", [run("train", acc=99.0, mech="none"), run("train", acc=97.0), run("attack", success=60.0)])
    challenge = Runs("challenge", [run("attack", "learned", success=90.0), run("attack", "learned", "5", 99.0)])
    text = peers_markdown(peers, "test", challenge=challenge)
    rows = [line for line in text.splitlines() if line.startswith("| mnist | DP pixelization (Fan 2018) |")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[5:8] == ["learned", "90.0", "45.0"]
    details = [line for line in text.splitlines() if line.startswith("| mnist | DP pixelization (4×4")]
    assert sorted(line.split("|")[3].strip() for line in details) == ["dp_denoise", "learned"]
    assert "experiment `challenge`" in text
