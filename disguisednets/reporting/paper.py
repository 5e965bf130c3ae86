"""The paper's numbers, once (docs/method.md §5): "Image Disguising for Protecting Data and Model
Confidentiality in Outsourced Deep Learning" (Sharma, Alam, Chen), Tables I–II and the trends its Figures 6–10 state in the text."""

from __future__ import annotations

__all__ = ["PAPER_TABLE2", "CAPTIONS", "paper_cell", "paper_cost"]

# Table II: (mean, std) in % over 5 folds, by dataset and by our Table II column (conf/column/).
# Accuracy columns: baseline, rmt, aes_ecb. Attack columns: success of the attack on that setting;
# "baseline_attack" is the paper's success on undisguised images (the baseline accuracy).
PAPER_TABLE2: dict[str, dict[str, tuple[float, float]]] = {
    "mnist": {"rmt": (96.6, 0.4), "aes_ecb": (91.6, 1.1), "baseline": (96.7, 0.2),
              "rmt_attack": (9.29, 3.3), "aes_ecb_attack": (37.3, 0.9), "baseline_attack": (96.7, 0.2)},
    "fashion": {"rmt": (85.1, 0.6), "aes_ecb": (68.9, 1.4), "baseline": (88.7, 0.3),
                "rmt_attack": (11.42, 1.3), "aes_ecb_attack": (19.3, 0.8), "baseline_attack": (88.7, 0.3)},
}

CAPTIONS = {
    "fig6": "Paper, Fig 6: smaller blocks (more blocks) preserve more utility; 2-pixel units via scale-up/"
            "scale-down are \"only 2–3% worse than the baselines\".",
    "fig7": "Paper, Fig 7: orthogonal matrices keep more utility than random projections; noise changes "
            "accuracy little; smaller blocks cost slightly; \"only 2–3% worse than baseline\".",
    "fig8": "Paper, Fig 8: 16-pixel units: hit rate < 10%, success grows slowly; 2-pixel units: hit rate rises to "
            "~10% then falls to 2–3%, success plateaus near 50% by 20 pairs.",
    "fig9": "Paper, Fig 9: 2–3% salt-and-pepper noise cuts attack success by ~10 points with little "
            "accuracy loss; too much noise destroys accuracy.",
    "fig10": "Paper, Fig 10: direct re-identification of RMT images is low for every block size; the "
             "regression attack on b=7 with uniform noise level 100 is \"surprisingly effective\" with few pairs.",
}


def paper_cell(dataset: str, column: str) -> str:
    mean, std = PAPER_TABLE2[dataset][column]
    return f"{mean} ± {std}"


def paper_cost(dataset: str, column: str) -> str:
    """The paper's utility cost of ``column``: baseline − disguised, from its means (stds combined
    as if independent)."""
    (b, sb), (d, sd) = PAPER_TABLE2[dataset]["baseline"], PAPER_TABLE2[dataset][column]
    return f"{b - d:.1f} ± {(sb ** 2 + sd ** 2) ** 0.5:.1f}"
