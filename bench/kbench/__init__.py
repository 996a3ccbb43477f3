"""bench/kbench: KissVDB against its peers on this machine (see bench/run.sh)."""
