// PLACEHOLDER: the Launch target (mpirun command building, Slurm detection, signal forwarding) is being written.
