/*
 * profile.c — the profile table.
 *
 * Each entry is data: the conventions of every metric and loss
 * (mce_conv, mcconv.h), the ignore default, and a list of parameter
 * defaults. A zeroed field is segloss's convention, so each table lists
 * only where its library differs, and a function the library does not
 * provide keeps segloss's definition and defaults. The values come from
 * reading each library's source; docs/profiles.md cites file and
 * function for every one, and tests/fixtures/multiclass holds values
 * computed by independent NumPy ports of those functions (and by PyTorch
 * itself for the pytorch profile), checked by tests/check_mcfixtures.c.
 */
#include "core/profile.h"

#include <math.h>
#include <string.h>

#define M(fn) [(fn) - FN_M_DICE]
#define NOW MCE_LC_NO_WEIGHTS

/* generalized_dice's weights are 1/(ΣG_c)² in every library: class weights are refused in every profile. */
#define GD_FIXED_WEIGHTS [FN_GENERALIZED_DICE] = {.flags = NOW, .lib = "generalized_dice (its weights are 1/(sum G_c)^2)"}

static const prof_default d_none[] = {{FN_COUNT, NULL, 0}};

/* ---- segloss (docs/losses.md) and pytorch: every field zero but generalized_dice's ---- */

static const mce_conv c_segloss = {
	.name = "segloss",
	.loss = {GD_FIXED_WEIGHTS},
};

static const mce_conv c_pytorch = {
	.name = "pytorch",
	.loss = {[FN_CROSS_ENTROPY] = {.flags = MCE_LC_NAN_EMPTY}, GD_FIXED_WEIGHTS},
};

/* ---- MONAI 1.5.0: monai/metrics/{meandice,meaniou,confusion_matrix,hausdorff_distance,surface_distance,
 * surface_dice,utils}.py, monai/losses/{dice,tversky,focal_loss}.py ---- */

#define MONAI_OVERLAP {.scored = 1, .empty_target = 1, .zero = MCE_UNDEF_NAN, .avg = MCE_AVG_MONAI}
#define MONAI_CM {.scored = 1, .zero = MCE_UNDEF_NAN, .avg = MCE_AVG_MONAI, .average = MCE_MICRO}
#define MONAI_SURF(one) {.no_background = 1, .one_empty = (one), .both_empty = MCE_UNDEF_NAN, .avg = MCE_AVG_MONAI}

static const mce_conv c_monai = {
	.name = "monai",
	.metric = {
		M(FN_M_DICE) = MONAI_OVERLAP,
		M(FN_M_IOU) = MONAI_OVERLAP,
		M(FN_M_PRECISION) = MONAI_CM,
		M(FN_M_RECALL) = MONAI_CM,
		M(FN_M_SPECIFICITY) = MONAI_CM,
		M(FN_M_ACCURACY) = MONAI_CM,
		M(FN_M_HAUSDORFF) = MONAI_SURF(MCE_UNDEF_INF),
		M(FN_M_HAUSDORFF95) = MONAI_SURF(MCE_UNDEF_NAN),
		M(FN_M_ASSD) = MONAI_SURF(MCE_UNDEF_INF),
		M(FN_M_SURFACE_DICE) = MONAI_SURF(MCE_UNDEF_NAN),
	},
	.loss = {
		[FN_CROSS_ENTROPY] = {.flags = MCE_LC_NAN_EMPTY},
		[FN_DICE_LOSS] = {.flags = MCE_LC_MEAN_OVER_N},
		[FN_JACCARD] = {.flags = MCE_LC_MEAN_OVER_N | MCE_LC_HALF_SMOOTH},
		[FN_TVERSKY] = {.flags = NOW, .lib = "MONAI's TverskyLoss"},
		[FN_FOCAL] = {.form = MCE_LF_FOCAL_MONAI},
		[FN_GENERALIZED_DICE] = {.flags = NOW, .lib = "MONAI's GeneralizedDiceLoss (weights 1/(sum G_c)^2)"},
	},
};

static const prof_default d_monai[] = {
	{FN_DICE_LOSS, "smooth", 1e-5}, {FN_DICE_LOSS, "gamma", 1},   {FN_JACCARD, "smooth", 1e-5},
	{FN_TVERSKY, "smooth", 1e-5},	{FN_TVERSKY, "alpha", 0.5},   {FN_TVERSKY, "beta", 0.5},
	{FN_GENERALIZED_DICE, "smooth", 1e-5}, {FN_COUNT, NULL, 0},
};

/* ---- segmentation_models.pytorch 0.5.0: metrics/functional.py, losses/{_functional,dice,jaccard,tversky,
 * focal,lovasz,soft_ce}.py ---- */

#define SMP_CM {.scored = 1, .avg = MCE_AVG_SMP}
#define SMP_REGION(extra, name) {.flags = MCE_LC_ZERO_ABSENT | NOW | (extra), .den_floor = 1e-7, .lib = name}

static const mce_conv c_smp = {
	.name = "smp",
	.metric = {
		M(FN_M_DICE) = SMP_CM,
		M(FN_M_IOU) = SMP_CM,
		M(FN_M_PRECISION) = SMP_CM,
		M(FN_M_RECALL) = SMP_CM,
		M(FN_M_SPECIFICITY) = SMP_CM,
		M(FN_M_ACCURACY) = SMP_CM,
	},
	.loss = {
		[FN_CROSS_ENTROPY] = {.form = MCE_LF_CE_ALL_PIXELS, .flags = NOW, .lib = "smp's SoftCrossEntropyLoss"},
		[FN_DICE_LOSS] = SMP_REGION(0, "smp's DiceLoss"),
		[FN_JACCARD] = SMP_REGION(0, "smp's JaccardLoss"),
		[FN_TVERSKY] = SMP_REGION(0, "smp's TverskyLoss"),
		[FN_FOCAL_TVERSKY] = SMP_REGION(MCE_LC_POW_AFTER_MEAN, "smp's TverskyLoss"),
		[FN_FOCAL] = {.form = MCE_LF_FOCAL_SIGMOID_SUM, .flags = NOW, .lib = "smp's FocalLoss"},
		[FN_LOVASZ_SOFTMAX] = {.flags = MCE_LC_NONE_ZERO | NOW, .lib = "smp's LovaszLoss"},
		GD_FIXED_WEIGHTS,
	},
};

static const prof_default d_smp[] = {
	{FN_DICE_LOSS, "smooth", 0},	     {FN_DICE_LOSS, "gamma", 1},	   {FN_JACCARD, "smooth", 0},
	{FN_TVERSKY, "smooth", 0},	     {FN_TVERSKY, "alpha", 0.5},	   {FN_TVERSKY, "beta", 0.5},
	{FN_FOCAL_TVERSKY, "smooth", 0},     {FN_FOCAL_TVERSKY, "alpha", 0.5},	   {FN_FOCAL_TVERSKY, "beta", 0.5},
	{FN_M_DICE, "zero_division", 1},     {FN_M_IOU, "zero_division", 1},	   {FN_M_PRECISION, "zero_division", 1},
	{FN_M_RECALL, "zero_division", 1},   {FN_M_SPECIFICITY, "zero_division", 1}, {FN_M_ACCURACY, "zero_division", 1},
	{FN_COUNT, NULL, 0},
};

/* ---- torchmetrics 1.9.0: functional/segmentation/{dice,mean_iou,hausdorff_distance}.py,
 * functional/classification/{precision_recall,specificity,accuracy}.py, utilities/compute.py ---- */

#define TM_SEG {.scored = 1, .zero = MCE_UNDEF_NAN, .avg = MCE_AVG_TM_SEG}
#define TM_CLASS {.scored = 1, .avg = MCE_AVG_TM_CLASS}

static const mce_conv c_torchmetrics = {
	.name = "torchmetrics",
	.metric = {
		M(FN_M_DICE) = TM_SEG,
		M(FN_M_IOU) = TM_SEG,
		M(FN_M_PRECISION) = TM_CLASS,
		M(FN_M_RECALL) = TM_CLASS,
		M(FN_M_SPECIFICITY) = TM_CLASS,
		M(FN_M_ACCURACY) = {.scored = 1, .ratio = MCE_RATIO_RECALL, .avg = MCE_AVG_TM_CLASS},
		M(FN_M_HAUSDORFF) = {.no_background = 1, .one_empty = MCE_UNDEF_INF, .avg = MCE_AVG_TM_SUM},
	},
	.loss = {GD_FIXED_WEIGHTS},
};

static const prof_default d_torchmetrics[] = {
	{FN_M_PRECISION, "zero_division", 0}, {FN_M_RECALL, "zero_division", 0}, {FN_M_SPECIFICITY, "zero_division", 0},
	{FN_M_ACCURACY, "zero_division", 0},  {FN_COUNT, NULL, 0},
};

/* ---- mmsegmentation 1.2.2: mmseg/evaluation/metrics/iou_metric.py, mmseg/models/losses/{cross_entropy_loss,
 * dice_loss,tversky_loss,focal_loss,lovasz_loss,utils}.py ---- */

#define MMSEG_IOU {.scored = 1, .zero = MCE_UNDEF_NAN, .avg = MCE_AVG_NANMEAN}

static const mce_conv c_mmseg = {
	.name = "mmseg",
	.metric = {
		M(FN_M_DICE) = MMSEG_IOU,
		M(FN_M_IOU) = MMSEG_IOU,
		M(FN_M_PRECISION) = MMSEG_IOU,
		M(FN_M_RECALL) = MMSEG_IOU,
	},
	.loss = {
		[FN_CROSS_ENTROPY] = {.form = MCE_LF_CE_ALL_PIXELS, .flags = MCE_LC_NO_SMOOTHING,
				      .lib = "mmseg's CrossEntropyLoss"},
		[FN_DICE_LOSS] = {.form = MCE_LF_DICE_SIGMOID_POOLED, .flags = NOW, .den_eps = 1e-3, .lib = "mmseg's DiceLoss"},
		[FN_TVERSKY] = {.flags = MCE_LC_MEAN_OVER_N},
		[FN_FOCAL] = {.form = MCE_LF_FOCAL_SIGMOID_MEAN, .flags = MCE_LC_TAKES_ALPHA},
		[FN_LOVASZ_SOFTMAX] = {.flags = MCE_LC_MEAN_OVER_N},
		GD_FIXED_WEIGHTS,
	},
};

static const prof_default d_mmseg[] = {
	{FN_TVERSKY, "smooth", 1}, {FN_FOCAL, "alpha", 0.5}, {FN_COUNT, NULL, 0},
};

/* ---- Keras 3.15.1: keras/src/losses/losses.py, keras/src/metrics/{iou_metrics,f_score_metrics}.py ---- */

static const mce_conv c_keras = {
	.name = "keras",
	.metric = {
		M(FN_M_DICE) = {.scored = 1, .ratio = MCE_RATIO_F1_TIES, .avg = MCE_AVG_KERAS_F1},
		M(FN_M_IOU) = {.scored = 1, .ratio = MCE_RATIO_EPS_IOU, .zero = MCE_UNDEF_NAN, .avg = MCE_AVG_KERAS_IOU},
	},
	.loss = {
		[FN_CROSS_ENTROPY] = {.form = MCE_LF_CE_KERAS},
		[FN_DICE_LOSS] = {.flags = MCE_LC_POOLED | NOW, .den_eps = 1e-7, .lib = "keras.losses.Dice"},
		[FN_TVERSKY] = {.flags = MCE_LC_POOLED | MCE_LC_ALPHA_ON_FN | NOW, .den_eps = 1e-7,
				.lib = "keras.losses.Tversky"},
		[FN_FOCAL] = {.form = MCE_LF_FOCAL_KERAS, .flags = MCE_LC_TAKES_ALPHA},
		GD_FIXED_WEIGHTS,
	},
};

static const prof_default d_keras[] = {
	{FN_DICE_LOSS, "smooth", 0}, {FN_DICE_LOSS, "gamma", 1}, {FN_TVERSKY, "smooth", 0}, {FN_TVERSKY, "alpha", 0.5},
	{FN_TVERSKY, "beta", 0.5},   {FN_FOCAL, "alpha", 0.25},  {FN_COUNT, NULL, 0},
};

/* ---- medpy 0.5.2: medpy/metric/binary.py ---- */

static const mce_conv c_medpy = {
	.name = "medpy",
	.metric = {
		M(FN_M_DICE) = {.scored = 1},
		M(FN_M_IOU) = {.scored = 1},
		M(FN_M_PRECISION) = {.scored = 1},
		M(FN_M_RECALL) = {.scored = 1},
		M(FN_M_SPECIFICITY) = {.scored = 1},
		M(FN_M_HAUSDORFF95) = {.hd_pooled = 1},
	},
	.loss = {GD_FIXED_WEIGHTS},
};

static const prof_default d_medpy[] = {
	{FN_M_DICE, "zero_division", 1},      {FN_M_IOU, "zero_division", 1},	   {FN_M_PRECISION, "zero_division", 0},
	{FN_M_RECALL, "zero_division", 0},    {FN_M_SPECIFICITY, "zero_division", 0}, {FN_COUNT, NULL, 0},
};

static const prof_info profiles[PROF_COUNT] = {
	[PROF_SEGLOSS] = {"segloss", "segloss", "docs/losses.md; docs/profiles.md (segloss)",
			  "a class absent from both target and prediction is null for every metric and left out of "
			  "averages; any other 0/0 is null (zero_division picks a number); macro averages; surface metrics "
			  "null when a mask is empty; cross_entropy as PyTorch; dice loss smooth 1e-6, gamma 2, class mean "
			  "sum(w d)/sum(w)",
			  &c_segloss, 0, 0, d_none},
	[PROF_MONAI] = {"monai", "MONAI 1.5.0",
			"monai/metrics/meandice.py, meaniou.py, confusion_matrix.py, hausdorff_distance.py, "
			"surface_distance.py, surface_dice.py, utils.py (do_metric_reduction); monai/losses/dice.py, "
			"tversky.py, focal_loss.py",
			"dice and iou NaN for a class absent from the target (ignore_empty); precision, recall, "
			"specificity and accuracy default to micro (counts averaged over classes); surface metrics leave "
			"out the background, one empty mask gives hausdorff and assd inf, hausdorff95 NaN; averages drop "
			"NaN, keep inf, and are 0 when nothing is left; dice loss smooth 1e-5 both sides, gamma 1, weights "
			"over n; jaccard (2I+s)/(2U+s); tversky alpha = beta = 0.5; focal softmax over included classes, "
			"mean over class and pixel",
			&c_monai, 0, 0, d_monai},
	[PROF_TORCHMETRICS] = {"torchmetrics", "torchmetrics 1.9.0",
			       "functional/segmentation/dice.py, mean_iou.py, hausdorff_distance.py; "
			       "functional/classification/precision_recall.py, specificity.py, accuracy.py; "
			       "utilities/compute.py",
			       "dice and iou skip classes absent from both (NaN), a predicted class absent from the "
			       "target scores 0; precision, recall, specificity 0/0 = 0, macro over classes with "
			       "TP+FP+FN > 0; accuracy per class is TP/(TP+FN); hausdorff leaves out the background, one "
			       "empty mask gives inf; losses are segloss's",
			       &c_torchmetrics, 0, 0, d_torchmetrics},
	[PROF_SMP] = {"smp", "segmentation_models.pytorch 0.5.0",
		      "segmentation_models_pytorch/metrics/functional.py (get_stats, _compute_metric); "
		      "losses/_functional.py, dice.py, jaccard.py, tversky.py, focal.py, lovasz.py, soft_ce.py",
		      "metrics: every 0/0 is 1 (zero_division), plain macro mean; losses: smooth 0 with a 1e-7 floor, "
		      "a class absent from the target scores 0 and still counts, focal_tversky is (class mean)^gamma, "
		      "focal is a sigmoid focal loss per class summed over classes, cross_entropy divides by every "
		      "pixel; no class weights",
		      &c_smp, 0, 0, d_smp},
	[PROF_MMSEG] = {"mmseg", "mmsegmentation 1.2.2",
			"mmseg/evaluation/metrics/iou_metric.py (intersect_and_union, total_area_to_metrics); "
			"mmseg/models/losses/cross_entropy_loss.py, dice_loss.py, tversky_loss.py, focal_loss.py, "
			"lovasz_loss.py, utils.py",
			"ignore label 255; iou, dice, precision, recall NaN when 0/0 and averaged with nanmean; "
			"cross_entropy divides by every pixel; dice loss is a sigmoid dice pooled over classes and every "
			"pixel (eps 1e-3); tversky smooth 1, divided by C; focal is a sigmoid focal loss, alpha 0.5; "
			"fractions, where mmsegmentation prints percentages",
			&c_mmseg, 1, 255, d_mmseg},
	[PROF_PYTORCH] = {"pytorch", "PyTorch (torch.nn.CrossEntropyLoss; values checked against torch 1.13)",
			  "aten/src/ATen/native/LossNLL.cpp (cross_entropy_loss_symint, "
			  "cross_entropy_loss_label_smoothing, nll_loss_nd)",
			  "cross_entropy: sum of w_y (-log p_y) over non-ignored pixels divided by the sum of w_y, "
			  "smoothing term divided by the same sum, NaN when every pixel is ignored; ignore label -100; "
			  "everything else is segloss's",
			  &c_pytorch, 1, -100, d_none},
	[PROF_KERAS] = {"keras", "Keras 3.15.1",
			"keras/src/losses/losses.py (sparse_categorical_crossentropy, dice, tversky, "
			"categorical_focal_crossentropy); keras/src/metrics/iou_metrics.py, f_score_metrics.py",
			"iou TP/(U + 1e-7), classes without a union not counted, mean divided by n + 1e-7; dice is "
			"F1Score with ties predicting every tied class, a class absent from both scores 0; "
			"cross_entropy renormalises probabilities, divides by valid pixels, 0 when all are ignored; "
			"dice and tversky losses pooled over classes with 1e-7 in the denominator, tversky alpha on "
			"false negatives",
			&c_keras, 0, 0, d_keras},
	[PROF_MEDPY] = {"medpy", "medpy 0.5.2",
			"medpy/metric/binary.py (dc, jc, precision, recall, specificity, hd, hd95, assd)",
			"per class one-vs-rest: dice and iou 1 when both masks are empty, precision, recall, specificity "
			"0 for 0/0; hausdorff95 is the 95th percentile of both directions pooled; a surface metric with "
			"an empty mask is null (medpy raises)",
			&c_medpy, 0, 0, d_medpy},
};

const mce_conv *mce_conv_of(const mce_conv *c)
{
	return c ? c : &c_segloss;
}

const mce_mconv *mce_metric_conv(const mce_conv *c, spec_fn fn)
{
	return &mce_conv_of(c)->metric[fn - FN_M_DICE];
}

const mce_lconv *mce_loss_conv(const mce_conv *c, spec_fn fn)
{
	return &mce_conv_of(c)->loss[fn];
}

const prof_info *prof_get(prof_id id)
{
	return (unsigned)id < PROF_COUNT ? &profiles[id] : NULL;
}

const prof_info *prof_find(const char *name, seg_error *err)
{
	const char *best = NULL;
	int best_d = 3;

	for (int i = 0; i < PROF_COUNT; i++) {
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
		int d = spec_edit_distance(name, profiles[i].name);
		if (d < best_d) {
			best_d = d;
			best = profiles[i].name;
		}
	}
	if (best)
		seg_fail(err, SEG_EINVAL, "unknown profile '%.64s' (did you mean '%s'?)", name, best);
	else
		seg_fail(err, SEG_EINVAL,
			 "unknown profile '%.64s': one of segloss, monai, torchmetrics, smp, mmseg, pytorch, keras, medpy",
			 name);
	return NULL;
}

void prof_apply(const prof_info *p, spec *specs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (const prof_default *d = p->defaults; d->param; d++)
			if (d->fn == specs[i].fn)
				spec_default_number(&specs[i], d->param, d->value);
}
