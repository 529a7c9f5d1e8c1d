/*
 * loss.c — loss formulas on fused sums. The formula each function
 * implements is written in loss.h above its prototype; the sources are
 * listed in docs/losses.md.
 */
#include "core/loss.h"

#include <math.h>

double loss_bce(const pix_stats *s)
{
	return (s->ce_pos + s->ce_neg) / s->n;
}

double loss_weighted_bce(const pix_stats *s, double beta)
{
	return (beta * s->ce_pos + s->ce_neg) / s->n;
}

double loss_balanced_bce(const pix_stats *s)
{
	double beta = (s->n - s->n_pos) / s->n;

	return (beta * s->ce_pos + (1.0 - beta) * s->ce_neg) / s->n;
}

double loss_focal(double n, double alpha, const double foc[2])
{
	return (alpha * foc[0] + (1.0 - alpha) * foc[1]) / n;
}

double loss_dice(const pix_stats *s, double sum_p_gamma, double smooth)
{
	return 1.0 - (2.0 * s->tp + smooth) / (sum_p_gamma + s->n_pos + smooth);
}

double loss_jaccard(const pix_stats *s, double smooth)
{
	return 1.0 - (s->tp + smooth) / (s->tp + s->fp + s->fn + smooth);
}

double loss_tversky(const pix_stats *s, double alpha, double beta, double smooth)
{
	return 1.0 - (s->tp + smooth) / (s->tp + alpha * s->fp + beta * s->fn + smooth);
}

double loss_sens_spec(const pix_stats *s, double w, double smooth)
{
	return w * s->se_pos / (s->n_pos + smooth) +
	       (1.0 - w) * s->se_neg / ((s->n - s->n_pos) + smooth);
}

double loss_combo(const pix_stats *s, double alpha, double beta, double smooth)
{
	double ce = beta * (s->ce_pos + (1.0 - beta) * s->ce_neg) / s->n;
	double dice = (2.0 * s->tp + smooth) / ((s->tp + s->fp) + s->n_pos + smooth);

	return alpha * ce - (1.0 - alpha) * dice;
}

/* (−ln d)^γ, with −ln d floored at 0 so rounding above 1 cannot make a NaN. */
static double neg_log_pow(double d, double gamma)
{
	double t = -log(d);

	return pow(t > 0.0 ? t : 0.0, gamma);
}

double loss_exp_log(const pix_stats *s, const double xl[2], double w_dice, double w_cross,
		    double gamma_dice, double smooth)
{
	double n_neg = s->n - s->n_pos;
	double dice_fg = (2.0 * s->tp + smooth) / ((s->tp + s->fp) + s->n_pos + smooth);
	double dice_bg = (2.0 * s->tn + smooth) / ((s->tn + s->fn) + n_neg + smooth);
	double l_dice = 0.5 * (neg_log_pow(dice_fg, gamma_dice) + neg_log_pow(dice_bg, gamma_dice));
	double l_cross = 0.0;

	if (s->n_pos > 0)
		l_cross += sqrt(s->n / s->n_pos) * xl[0];
	if (n_neg > 0)
		l_cross += sqrt(s->n / n_neg) * xl[1];
	l_cross /= s->n;
	return w_dice * l_dice + w_cross * l_cross;
}

double loss_generalized_dice(const pix_stats *s, double smooth)
{
	double n_neg = s->n - s->n_pos;
	double w_fg = s->n_pos > 0 ? 1.0 / (s->n_pos * s->n_pos) : 0.0;
	double w_bg = n_neg > 0 ? 1.0 / (n_neg * n_neg) : 0.0;

	/* An absent class takes the largest finite weight: the other class's. */
	if (s->n_pos == 0)
		w_fg = w_bg;
	if (n_neg == 0)
		w_bg = w_fg;
	double num = 2.0 * (w_fg * s->tp + w_bg * s->tn);
	double den = w_fg * ((s->tp + s->fp) + s->n_pos) + w_bg * ((s->tn + s->fn) + n_neg);
	return 1.0 - (num + smooth) / (den + smooth);
}
