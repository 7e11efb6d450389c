"""Run one robustness study config: python experiments/robustness_run.py experiments/robustness_patches.toml"""
import sys
import time

from bio_sleep.robustness import load_robustness_config, run_study

if __name__ == "__main__":
    start = time.perf_counter()
    folder = run_study(load_robustness_config(sys.argv[1]), output_dir=sys.argv[2] if len(sys.argv) > 2 else None)
    print((folder / "table.md").read_text())
    print(f"results in {folder}; {time.perf_counter() - start:.0f} s")
