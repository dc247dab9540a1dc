// grade_cuda.h: the grader's door to the CUDA kernels of exercises 3.7 and
// 3.8 (tests/grader/grade_cuda.cu, built by the emulator's C++ compiler
// only where one exists: GRADER_CUDA_EMU is then defined).
#ifndef GANBOOK_GRADE_CUDA_H
#define GANBOOK_GRADE_CUDA_H

// Runs the convolution lab's forward kernel `version` (1 naive: exercise 3.7;
// 2 tiled: its shared-memory load is exercise 3.8) through the lab's own
// launcher (cuda_conv2d_forward, cuda/conv2d.cu) under the emulator, on host
// arrays: x (N,C,H,W), w (OC,C,K,K), b (OC) or NULL -> y (N,OC,HO,WO),
// HO = (H + 2 pad - K) / stride + 1. reverse = 1 runs the threads (and
// blocks) in reverse order. y's device copy is fresh cudaMalloc memory (the
// emulator's NaN poison, guard zones around it): an output the kernel never
// writes comes back NaN, a write past y's end is reported. x and w sit
// between inaccessible pages: a read past either end crashes. Returns the
// number of errors the emulator reported during the launch (0: none); an
// error that stops the kernel (a barrier not reached by every thread, an
// overwritten guard zone) ends the process with the emulator's message.
int grade_cuda_conv_forward(int version, int reverse, int N, int C, int H, int W, int OC, int K, int stride, int pad,
                            const float *x, const float *w, const float *b, float *y);

#endif
