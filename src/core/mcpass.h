/*
 * mcpass.h — the loss passes some libraries' definitions need beyond
 * the fused per-class sums of mcloss.h.
 *
 * Keras renormalises probabilities before it clips them, MONAI's focal
 * loss takes the softmax over the included classes only, smp and mmseg
 * apply a sigmoid to each class's score, and mmseg's Dice loss counts
 * the ignored pixels' predictions: each needs per-pixel values the
 * fused pass does not keep. Each pass reads either per-class scores or
 * a hard label map (whose one-hot stands for the probabilities), and
 * sums in double per class, in class order.
 */
#ifndef MCPASS_H
#define MCPASS_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

/* What a pass reads: per-class scores (s), or, when s is NULL, the one-hot of the label map hard. */
typedef struct mcp_src {
	const seg_scores *s;
	const uint16_t *hard;
	int width, height, classes;
} mcp_src;

/* Options of the softmax pass. */
typedef struct mcp_soft_opts {
	const uint8_t *keep; /* classes the softmax runs over (NULL: all); the others are dropped first */
	int renorm;          /* probabilities: p_c / Σ_kept p (Keras, MONAI), then clipped */
	int clip_logits;     /* logits: the softmax is clipped too (Keras' focal loss) */
	double eps;          /* clip to [eps, 1 − eps] */
	double gamma;        /* focal exponent */
} mcp_soft_opts;

/* Per target class y (classes entries each, one allocation owned): sums over valid pixels of class y. */
typedef struct mcp_soft_sums {
	int classes;
	double n;    /* valid pixels, every class */
	double *g;   /* pixels of class y (kept classes only) */
	double *nll; /* Σ −ln p_y */
	double *foc; /* Σ (1 − p_y)^γ (−ln p_y) */
	double *tl;  /* Σ Σ_kept c −ln p_c */
} mcp_soft_sums;

/*
 * The softmax pass: log-probabilities over the kept classes of each valid
 * pixel (logits: exact log-softmax, clipped when clip_logits;
 * probabilities: ln clip(p_c / S), S = Σ_kept p when renorm, else 1),
 * summed by target class. src, t borrowed (t: width*height classes or
 * SEG_IGNORE). *out owns its arrays on success: mcp_soft_sums_release.
 * SEG_ENOMEM.
 */
seg_status mcp_softmax(const mcp_src *src, const uint16_t *t, const mcp_soft_opts *o, mcp_soft_sums *out,
		       seg_error *err);
void mcp_soft_sums_release(mcp_soft_sums *s);

/* Which sigmoid focal loss: smp's (no α) or mmseg's (α, and (1 − pt) from the sigmoid itself). */
typedef enum mcp_sigmoid_kind {
	MCP_SIGMOID_SMP,   /* (1 − e^{−bce})^γ · bce (smp focal_loss_with_logits) */
	MCP_SIGMOID_MMSEG, /* bce · (α t + (1 − α)(1 − t)) · ((1 − q) t + q (1 − t))^γ (mmseg py_sigmoid_focal_loss) */
} mcp_sigmoid_kind;

/*
 * The sigmoid focal pass: for each class c and valid pixel, t = (y == c),
 * with logits x: bce = max(x, 0) − x t + ln(1 + e^{−|x|}), q = σ(x);
 * with probabilities q = clip(p_c, eps, 1 − eps), bce = −[t ln q + (1 − t)
 * ln(1 − q)]. sum[c] (classes, caller-owned) receives Σ over valid pixels
 * of the kind's term. src, t borrowed.
 */
void mcp_sigmoid_focal(const mcp_src *src, const uint16_t *t, mcp_sigmoid_kind kind, double gamma, double alpha,
		       double eps, double *sum);

/*
 * mmseg's Dice loss (use_sigmoid, naive_dice=False): P = σ(logits) (the
 * probabilities as given), one score pooled over the included classes
 * (include borrowed; NULL: all) and over every pixel, ignored ones with
 * an all-zero target row but their P counted:
 * 1 − 2 Σ P G / ((Σ P² + eps) + (Σ G² + eps)). src, t borrowed.
 */
double mcp_sigmoid_dice(const mcp_src *src, const uint16_t *t, const uint8_t *include, double eps);

#endif
