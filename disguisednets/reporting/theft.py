"""The model-confidentiality table (``results/model_confidentiality.md``) from the runs of
``conf/experiment/model_confidentiality.yaml``, read by their ``column`` tags."""

from __future__ import annotations

from disguisednets.reporting.runs import Runs, fmt, values

__all__ = ["theft_markdown"]

COLUMNS = (("baseline (no disguise)", "baseline"), ("block permutation, b = 7", "permutation"),
           ("RMT, b = 7, orthogonal, noise level 100", "rmt"), ("AES-ECB, b = 8 on 32 px, unit 2, 2% s&p", "aes_ecb"))
METRICS = (("theft_direct", "M on plain images"), ("theft_true_disguise", "through the true disguise"),
           ("theft_m1", "m = 1 pair"), ("theft_m20", "m = 20 pairs"),
           ("theft_m20_best_classes", "m = 20, best class map"))


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
        "cloud, which uses the test labels for it); *through the true disguise* (M(T_K(x)), the cloud's best case: "
        "what the model is worth to whoever holds the key); *m pairs*: M(T̂(x)) with T̂ fitted on m known "
        "original/disguised pairs (RMT: forward least squares per block position; AES-ECB: the codebook read "
        "plaintext → ciphertext, misses → the position's most frequent ciphertext unit; permutation: π itself, "
        "known to the attacker as in every attack here), classes matched on those m pairs only; *best class map*: "
        "the same T̂ with the test-label assignment.", "",
        *lines, "",
    ])
