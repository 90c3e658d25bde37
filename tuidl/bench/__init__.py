"""`tuidl bench`: tuidl's kernels and training loop timed against numpy and PyTorch-CPU.

`command` adds the subcommand (cheap to import); `harness` times and checks, `cases` holds the
kernel shapes and implementations, `numpy_ref` and `torch_ref` the references, `endtoend` the
epoch, start-up and memory runs, `report` the markdown. torch is imported only when it is
installed and asked for; it is never a dependency of tuidl.
"""
