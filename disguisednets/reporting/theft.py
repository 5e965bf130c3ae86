"""The model-confidentiality table (``results/model_confidentiality.md``) from the runs of
``conf/experiment/model_confidentiality.yaml``, read by their ``column`` tags."""

from __future__ import annotations

from disguisednets.reporting.runs import Runs, fmt, values

__all__ = ["inversion_figure", "theft_markdown"]

COLUMNS = (("baseline (no disguise)", "baseline"), ("block permutation, b = 7", "permutation"),
           ("RMT, b = 7, orthogonal, noise level 100", "rmt"), ("AES-ECB, b = 8 on 32 px, unit 2, 2% s&p", "aes_ecb"))
METRICS = (("theft_direct", "M on plain images"), ("theft_level_a", "level (a): T̂ from disguised data"),
           ("theft_true_disguise", "through the true disguise"),
           ("theft_m1", "m = 1 pair"), ("theft_m20", "m = 20 pairs"),
           ("theft_m20_best_classes", "m = 20, best class map"),
           ("inversion_recognised", "inversion: classes recognised"),
           ("theft_pixels_placed", "level (a): π̂'s pixels placed"),
           ("theft_level_a_pi_given", "level (a), π given (upper bound)"), ("theft_m20_pi_given", "m = 20, π given"))


def theft_markdown(runs: Runs, command: str) -> str:
    head = "| dataset | disguise | owner's accuracy (%) | " + " | ".join(label for _, label in METRICS) + " |"
    lines = [head, "|" + "---|" * (3 + len(METRICS))]
    for ds in ("mnist", "fashion"):
        for label, column in COLUMNS:
            sel = runs.trained(dataset=ds, column=column)
            if sel:
                lines.append(f"| {ds} | {label} | {fmt(values(sel, 'test_acc'))} | "
                             + " | ".join(fmt(values(sel, m)) for m, _ in METRICS) + " |")
    return "\n".join([
        "# Model confidentiality: can the cloud use the model it trained on plain images?", "",
        f"Made by `{command}` from the runs of MLflow experiment `{runs.experiment}` ({len(runs)} runs).", "",
        "**Theft success** (%) = 100 × the accuracy on the plain test images of the classifier the cloud makes from "
        "the model M it trained for the owner / the owner's accuracy on the disguised test images. Ways: *M on "
        "plain images* (classes matched to the true ones by the best one-to-one assignment — an upper bound for the "
        "cloud, which uses the test labels for it); *level (a)*: M(T̂(x)) with T̂ estimated from the disguised "
        "training data the cloud holds and 5,000 public images, no pair (RMT: covariance matching; AES-ECB: the "
        "frequency-rank pairing of ciphertext and public plaintext units read plaintext → ciphertext; block "
        "permutation: the jigsaw's π), its blocks placed by the π̂ the cloud found itself (docs/method.md §4 "
        "\"Finding π\"; *π̂'s pixels placed*: the share of test pixels it puts in their own place), classes by the "
        "same assignment; *through the true disguise* (M(T_K(x)), the cloud's best case: "
        "what the model is worth to whoever holds the key); *m pairs*: M(T̂(x)) with T̂ fitted on m known "
        "original/disguised pairs (RMT: forward least squares per block position; AES-ECB: the codebook read "
        "plaintext → ciphertext, misses → the position's most frequent ciphertext unit; permutation: π itself), "
        "blocks placed by π̂ from the pairs and the level-(a) statistics, classes matched on those m pairs only; "
        "*π given*: the same estimates handed the true π, an upper bound; *best class map*: "
        "the same T̂ with the test-label assignment. *Inversion*: one representative per class synthesized "
        "from M by input optimization (maximize the class's logit, L2 penalty), mapped back to plain images "
        "with the inverse estimated from the 20 pairs, and the share of classes the robust examiner recognises "
        "in them (`model_confidentiality.png` shows them; the baseline row is what the method gives on the "
        "undisguised model).", "",
        *lines, "",
    ])


def inversion_figure(client, runs: Runs):
    """Each run's mapped-back class representatives (artifact ``representatives.npz``), one row per
    dataset and disguise, one column per class; None when no run has them."""
    import tempfile

    import numpy as np
    from matplotlib.figure import Figure

    rows = []
    for ds in ("mnist", "fashion"):
        for label, column in COLUMNS:
            for r in runs.trained(dataset=ds, column=column)[:1]:
                with tempfile.TemporaryDirectory() as tmp:
                    try:
                        path = client.download_artifacts(r.info.run_id, "representatives.npz", tmp)
                    except Exception:  # noqa: BLE001 - a run without the artifact is left out
                        continue
                    images = np.load(path)["images"]
                rows.append((f"{ds}: {label}\n(recognised {r.data.metrics.get('inversion_recognised', 0):.0f}%)",
                             images))
    if not rows:
        return None
    n = max(len(images) for _, images in rows)
    fig = Figure(figsize=(0.9 * n + 2.6, 0.95 * len(rows) + 0.6), layout="constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for i, (label, images) in enumerate(rows):
        for c in range(n):
            ax = axes[i, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(images):
                ax.imshow(images[c], cmap="gray", vmin=0, vmax=255)
            if i == 0:
                ax.set_title(f"class {c}", fontsize=7)
        axes[i, 0].set_ylabel(label, fontsize=6, rotation=0, ha="right", va="center")
    fig.suptitle("Model inversion: one representative per class from the cloud's model, mapped back to plain "
                 "images with the inverse estimated from 20 known pairs", fontsize=8)
    return fig
