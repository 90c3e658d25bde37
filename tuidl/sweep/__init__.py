"""Sweeps and races on Dask distributed (`tuidl sweep`, `tuidl compare`).

- `space`: `--space KEY=DIST` parsed, and the values drawn from it (or its grid);
- `trials`: the trials, each the experiment with its values and a seed;
- `store`: the sweep directory's files, `sweep.toml` and `trials.jsonl` (the format);
- `executor`: the client: a local or remote Dask cluster that runs the trials and writes their
  run directories;
- `remote`: what runs on a worker: its set-up plugin and the task that trains one trial;
- `mirror`: a run directory written on the client from what a worker sends;
- `display`: the live table of a sweep's trials and the table of the best.
"""
