/*
 * loss.h — the region and cross-entropy losses as formulas on the sums
 * of one fused pass (pixstats.h). Notation: y the target in {0, 1}, p the
 * probability, p^ = clip(p, eps, 1 − eps), N the pixel count, s the
 * smoothing term; TP = Σpy, FP = Σp(1−y), FN = Σ(1−p)y, TN = Σ(1−p)(1−y).
 * Every function is pure arithmetic; none reads pixels.
 */
#ifndef LOSS_H
#define LOSS_H

#include "core/pixstats.h"

/* bce: mean −[y ln p^ + (1−y) ln(1−p^)] */
double loss_bce(const pix_stats *s);

/* weighted_bce: mean −[β y ln p^ + (1−y) ln(1−p^)] */
double loss_weighted_bce(const pix_stats *s, double beta);

/* balanced_bce: β = (N − Σy)/N; mean −[β y ln p^ + (1−β)(1−y) ln(1−p^)] */
double loss_balanced_bce(const pix_stats *s);

/*
 * focal: mean −[α y (1−p^)^γ ln p^ + (1−α)(1−y) p^^γ ln(1−p^)];
 * foc = {Σ_{y=1} (1−p^)^γ (−ln p^), Σ_{y=0} p^^γ (−ln(1−p^))}.
 */
double loss_focal(double n, double alpha, const double foc[2]);

/* dice: 1 − (2TP + s)/(Σp^γ + Σy^γ + s); Σy^γ = Σy for binary y and γ > 0. */
double loss_dice(const pix_stats *s, double sum_p_gamma, double smooth);

/* jaccard: 1 − (TP + s)/(TP + FP + FN + s) */
double loss_jaccard(const pix_stats *s, double smooth);

/* tversky: 1 − (TP + s)/(TP + α FP + β FN + s) */
double loss_tversky(const pix_stats *s, double alpha, double beta, double smooth);

/* sensitivity_specificity: w Σ(y−p)²y/(Σy + s) + (1−w) Σ(y−p)²(1−y)/(Σ(1−y) + s) */
double loss_sens_spec(const pix_stats *s, double w, double smooth);

/* combo: α mean(−β[y ln p^ + (1−β)(1−y) ln(1−p^)]) − (1−α)(2TP + s)/(Σp + Σy + s) */
double loss_combo(const pix_stats *s, double alpha, double beta, double smooth);

/*
 * exp_log: w_dice L_dice + w_cross L_cross with, over the classes
 * background and foreground, Dice_c = (2Σp_c y_c + s)/(Σp_c + Σy_c + s),
 * L_dice = mean_c (−ln Dice_c)^γd, and L_cross = mean over pixels of
 * w_l (−ln p^_l)^γc, w_l = (N/n_l)^0.5 for the pixel's true class l.
 * xl = {Σ_{y=1} (−ln p^)^γc, Σ_{y=0} (−ln(1−p^))^γc}.
 */
double loss_exp_log(const pix_stats *s, const double xl[2], double w_dice, double w_cross,
		    double gamma_dice, double smooth);

/*
 * generalized_dice: w_c = 1/(Σy_c)² (an absent class takes the other's
 * weight), 1 − (2 Σ_c w_c Σp_c y_c + s)/(Σ_c w_c Σ(p_c + y_c) + s).
 */
double loss_generalized_dice(const pix_stats *s, double smooth);

#endif
