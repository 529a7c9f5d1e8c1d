/*
 * profile.c — the profile table.
 *
 * Each entry is data: the conventions (mce_conv), the include_background
 * and ignore defaults, and a list of parameter defaults. The values come
 * from reading each library's source; docs/profiles.md cites file and
 * function for every one, and tests/fixtures/multiclass holds values
 * computed by independent NumPy ports of those functions (and by PyTorch
 * itself for the pytorch profile).
 */
#include "core/profile.h"

#include <math.h>
#include <string.h>

static const prof_default d_none[] = {{FN_COUNT, NULL, 0}};

static const prof_default d_monai[] = {
	{FN_DICE_LOSS, "smooth", 1e-5},	      {FN_DICE_LOSS, "gamma", 1},
	{FN_LOG_COSH_DICE, "smooth", 1e-5},   {FN_LOG_COSH_DICE, "gamma", 1},
	{FN_JACCARD, "smooth", 1e-5},	      {FN_TVERSKY, "smooth", 1e-5},
	{FN_TVERSKY, "alpha", 0.5},	      {FN_TVERSKY, "beta", 0.5},
	{FN_FOCAL_TVERSKY, "smooth", 1e-5},   {FN_FOCAL_TVERSKY, "alpha", 0.5},
	{FN_FOCAL_TVERSKY, "beta", 0.5},      {FN_GENERALIZED_DICE, "smooth", 1e-5},
	{FN_COUNT, NULL, 0},
};

static const prof_default d_smp[] = {
	{FN_DICE_LOSS, "smooth", 0},	  {FN_DICE_LOSS, "gamma", 1},	    {FN_LOG_COSH_DICE, "smooth", 0},
	{FN_LOG_COSH_DICE, "gamma", 1},	  {FN_JACCARD, "smooth", 0},	    {FN_TVERSKY, "smooth", 0},
	{FN_TVERSKY, "alpha", 0.5},	  {FN_TVERSKY, "beta", 0.5},	    {FN_FOCAL_TVERSKY, "smooth", 0},
	{FN_FOCAL_TVERSKY, "alpha", 0.5}, {FN_FOCAL_TVERSKY, "beta", 0.5},  {FN_M_DICE, "zero_division", 1},
	{FN_M_IOU, "zero_division", 1},	  {FN_M_PRECISION, "zero_division", 1}, {FN_M_RECALL, "zero_division", 1},
	{FN_M_SPECIFICITY, "zero_division", 1}, {FN_COUNT, NULL, 0},
};

static const prof_info profiles[PROF_COUNT] = {
	[PROF_SEGLOSS] = {"segloss", "segloss", "docs/losses.md",
			  "every 0/0 and every class absent from both target and prediction is null with a warning and "
			  "left out of averages; dice loss smooth 1e-6, gamma 2",
			  {0, 0, 0, MCE_HD_DIRECTED, MCE_ASSD_POOLED, 0}, 1, 1, 0, 0, d_none},
	[PROF_MONAI] = {"monai", "MONAI 1.5",
			"monai/metrics/meandice.py, meaniou.py, hausdorff_distance.py, surface_distance.py; "
			"monai/losses/dice.py, tversky.py",
			"per (image, class); a class absent from the target is NaN (ignore_empty) and skipped; surface "
			"metrics leave out the background; assd is directed prediction to target; smooth 1e-5",
			{0, 1, 0, MCE_HD_DIRECTED, MCE_ASSD_PRED_TO_TARGET, 0}, 1, 0, 0, 0, d_monai},
	[PROF_TORCHMETRICS] = {"torchmetrics", "torchmetrics 1.9",
			       "torchmetrics/functional/classification/jaccard.py, f_beta.py; "
			       "torchmetrics/functional/segmentation/dice.py, mean_iou.py",
			       "classes absent from target and prediction are left out of macro averages",
			       {0, 0, 0, MCE_HD_DIRECTED, MCE_ASSD_POOLED, 0}, 1, 1, 0, 0, d_none},
	[PROF_SMP] = {"smp", "segmentation_models_pytorch 0.5",
		      "segmentation_models_pytorch/metrics/functional.py; losses/_functional.py, dice.py, jaccard.py, "
		      "tversky.py",
		      "metrics: 0/0 scores zero_division = 1; losses: smooth 0, a class absent from the target scores 0 "
		      "and still counts in the mean",
		      {1, 0, 0, MCE_HD_DIRECTED, MCE_ASSD_POOLED, 1}, 1, 1, 0, 0, d_smp},
	[PROF_MMSEG] = {"mmseg", "mmsegmentation 1.2",
			"mmseg/evaluation/metrics/iou_metric.py (IoUMetric.intersect_and_union, total_area_to_metrics)",
			"ignore label 255; a class whose union is empty is NaN and left out (nanmean); fractions, where "
			"mmsegmentation prints percentages",
			{0, 0, 0, MCE_HD_DIRECTED, MCE_ASSD_POOLED, 0}, 1, 1, 1, 255, d_none},
	[PROF_PYTORCH] = {"pytorch", "PyTorch 1.13 (Debian python3-torch)",
			  "aten/src/ATen/native/LossNLL.cpp (cross_entropy, nll_loss); torch.nn.CrossEntropyLoss",
			  "cross_entropy: mean over non-ignored pixels weighted by class weights, exact log-softmax, "
			  "label smoothing as PyTorch; ignore label -100",
			  {0, 0, 0, MCE_HD_DIRECTED, MCE_ASSD_POOLED, 0}, 1, 1, 1, -100, d_none},
	[PROF_KERAS] = {"keras", "Keras 3",
			"keras/src/losses/losses.py (sparse_categorical_crossentropy, dice); keras/src/metrics/iou_metrics.py",
			"probabilities clipped to [1e-7, 1 - 1e-7]; mean IoU over classes with a non-empty union",
			{0, 0, 0, MCE_HD_DIRECTED, MCE_ASSD_POOLED, 0}, 1, 1, 0, 0, d_none},
	[PROF_MEDPY] = {"medpy", "medpy 0.5",
			"medpy/metric/binary.py (hd, hd95, assd, dc, jc)",
			"hausdorff95 is the 95th percentile of both directions pooled; assd the mean of the two directed "
			"means; per class one-vs-rest",
			{0, 0, 0, MCE_HD_POOLED, MCE_ASSD_MEAN_OF_MEANS, 0}, 1, 1, 0, 0, d_none},
};

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
