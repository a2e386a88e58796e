# Brain-Score's calls of upstream's laion_fmri (brain-score/vision at c642dbe), in the order
# its pipeline makes them: rebuild_assemblies.py (the `laion-fmri download` command),
# build_assembly.py (one subject's assembly), prepare_shared.py / prepare_persubject.py (the
# splits' ids) and benchmark.py (split masks over an assembly's presentations), with their
# arguments and the use each makes of the answer; the brainio/xarray packaging left out. What
# the assembly would hold is saved to the file named by the first argument, for the test to
# compare with the synthetic bucket's truth. Run by tests/test_splits_published.py through
# `laion-fmri-datalad compat`, unchanged.
import json
import subprocess
import sys

import numpy as np
import pandas as pd

out = sys.argv[1]
subject = "sub-01"

# rebuild_assemblies.py: download_fmri(subject)
cmd = ["laion-fmri", "download", "--subject", subject, "--extension", "nii.gz", "tsv", "json", "--n-jobs", "4"]
result = subprocess.run(cmd)
if result.returncode != 0:
    raise SystemExit(f"command failed: {' '.join(cmd)}")

# build_assembly.py
from laion_fmri.subject import load_subject

REGION_DEFS = {"V1": ["V1v", "V1d"], "V2": ["V2v", "V2d"], "V3": ["V3v", "V3d"], "V4": ["hV4"]}
IT_BASE = "laionventral"
sub = load_subject(subject)
sessions = sub.get_sessions()
queries = [r for rs in REGION_DEFS.values() for r in rs] + [IT_BASE]
masks = sub.get_roi_masks(queries=queries)
n_voxels_brain = sub.get_n_voxels()
retinotopic = np.zeros(n_voxels_brain, dtype=bool)
regions = {}
for region, parts in REGION_DEFS.items():
    regions[region] = np.zeros(n_voxels_brain, dtype=bool)
    for p in parts:
        regions[region] |= masks[p] > 0
    retinotopic |= regions[region]
regions["IT"] = (masks[IT_BASE] > 0) & ~retinotopic
combined_mask = np.zeros(n_voxels_brain, dtype=bool)
for m in regions.values():
    combined_mask |= m
betas_per_session, trials_per_session = {}, []
for ses in sessions:
    betas = sub.get_betas(session=ses, mask=combined_mask)
    trials = sub.get_trial_info(session=ses)
    betas_per_session[ses] = betas
    trials_per_session.append(trials)
trials = pd.concat(trials_per_session, ignore_index=True)
coords = pd.DataFrame({
    "stimulus_id": trials["label"].values,
    "session": trials["session"].values,
    "run": trials["run"].values,
    "beta_index": trials["beta_index"].values,
    "repetition": trials.groupby("label").cumcount().values,
})
nc = {desc: sub.get_noise_ceiling(desc=desc)[combined_mask].astype(np.float32)
      for desc in ("Noiseceiling4rep", "Noiseceiling12rep", "NoiseceilingAllrep")}

# prepare_shared.py and prepare_persubject.py
from laion_fmri.splits import get_train_test_ids

tau_train, tau_test = get_train_test_ids("tau", pool="shared")
_, ood_test = get_train_test_ids("ood", pool="shared")
shared_ids = set(tau_train) | set(tau_test) | set(ood_test)
own_train, own_test = get_train_test_ids("tau", pool=subject)
_, own_ood = get_train_test_ids("ood", pool=subject)

# benchmark.py: _split_mask_for_subject
from laion_fmri.splits import get_split_masks

presentations = pd.DataFrame({"label": coords["stimulus_id"], "repetition": coords["repetition"]})
shared = presentations[presentations["label"].isin(shared_ids)]
sizes = {}
for split, kw in [("tau", {}), ("ood", {}), ("ood", {"ood_types": ["gabor"]}), ("cluster_k5_0", {})]:
    train_mask, test_mask = get_split_masks(shared, split, pool="shared", **kw)
    sizes[f"shared/{split}/{kw}"] = [int(train_mask.sum()), int(test_mask.sum()), len(train_mask)]
train_mask, test_mask = get_split_masks(presentations, "tau", pool=subject)
sizes[f"{subject}/tau"] = [int(train_mask.sum()), int(test_mask.sum()), len(train_mask)]

np.savez(out, combined_mask=combined_mask, **{f"betas_{s}": b for s, b in betas_per_session.items()},
         **{f"nc_{d}": v for d, v in nc.items()})
with open(out + ".json", "w") as f:
    json.dump({"sessions": list(sessions), "n_trials": len(coords), "shared_ids": len(shared_ids),
               "own_ids": len(set(own_train) | set(own_test) | set(own_ood)), "sizes": sizes,
               "columns": list(coords.columns)}, f)
