/* LD_PRELOAD shim for scripts/kernel-sweep.sh: makes oneMKL (linked into torch) treat this CPU as an Intel one, so
 * that on an AMD machine MKL runs the kernels an Intel CPU of the same ISA gets (AVX-512 on Ice Lake-SP, ...), and
 * MKL_ENABLE_INSTRUCTIONS selects among them. MKL calls this through the PLT, so the preload replaces it. Testing
 * only: it changes which kernels run, never what they compute. */
int mkl_serv_intel_cpu_true(void) { return 1; }
