# ganbook: one entry point.
#   make chapter1 && ./chapter1     build and run a chapter
#   make test                       the whole unit-test suite (solutions)
#   make grade [SRC=exercises] [ONLY=0.3]  grade the exercises: Score x/y
#                                   (FORMAT=json: one JSON document)
#   make handout ONLY="3.1 3.2"     stub only those exercises in exercises/
#   make fuzz [FUZZ_SECONDS=30]     fuzz the IDX, checkpoint and flag readers
#   make coverage                   line/branch coverage of common/ by make test
#   make bench                      speed against the yardsticks
#   make profile                    where a training step's CPU time goes (perf)
#   make data                       fetch MNIST / Fashion-MNIST
#   make plots                      re-render every run's plots
#   make clean
# Knobs: SRC=solutions|exercises (which copy of the exercise functions is
# compiled in), CUDA=0|1, DEBUG=1 (-g, address and undefined sanitizers),
# CC=gcc|clang, ARCH=native|generic|<a -march value> (what the CPU code may
# use: this machine's every instruction, the target's baseline, or a named
# CPU; see common/simd.h).

CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif
SRC ?= solutions
DEBUG ?= 0

ifneq ($(SRC),solutions)
ifneq ($(SRC),exercises)
$(error SRC must be solutions or exercises (got '$(SRC)'))
endif
endif

# The chapters: chapters/chNN_topic/main.c -> ./chapterN
CHAPTER_DIRS := $(sort $(dir $(wildcard chapters/ch*/main.c)))
chapter_num = $(patsubst 0%,%,$(patsubst ch%,%,$(firstword $(subst _, ,$(notdir $(patsubst %/,%,$(1)))))))
CHAPTERS := $(foreach d,$(CHAPTER_DIRS),chapter$(call chapter_num,$(d)))

all: cuda-note $(CHAPTERS)

# Objects of another compiler go to their own build dir (build/solutions-clang),
# so `make CC=clang` after a gcc build really recompiles.
CC_TAG := $(if $(filter gcc,$(notdir $(CC))),,-$(notdir $(CC)))

# --- flags -------------------------------------------------------------------
WARN := -Wall -Wextra

# ARCH picks the instructions the CPU code may use, and with them the vector
# path common/simd.h compiles (AVX-512, AVX2+FMA, NEON or plain C):
#   native   everything this machine has (the default; -mcpu=native on ARM)
#   generic  the target's baseline: SSE2 on x86-64 (the plain-C path), NEON
#            on 64-bit ARM; what a cross compiler or a binary for other
#            machines needs
#   other    passed on as -march=$(ARCH): haswell (AVX2+FMA),
#            skylake-avx512 / x86-64-v4 (AVX-512), x86-64-v3 (AVX2+FMA), ...
# Each ARCH but native builds in its own directory (build/solutions-generic).
ARCH ?= native
ifeq ($(ARCH),native)
MARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),-mcpu=native,-march=native)
ARCH_TAG :=
else ifeq ($(ARCH),generic)
MARCH :=
ARCH_TAG := -generic
else
MARCH := -march=$(ARCH)
ARCH_TAG := -$(ARCH)
endif
ifeq ($(DEBUG),1)
OPT := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
VARIANT := debug-$(SRC)$(CC_TAG)
else
# -fno-math-errno: sqrtf and friends need not set errno (nothing here reads
# it), so loops that call them vectorize: Adam's update (exercise 0.4) runs
# 16 lanes at a time instead of one, with bit-identical results.
OPT := -O3 $(MARCH) -fno-math-errno -fno-trapping-math
VARIANT := $(SRC)$(CC_TAG)$(ARCH_TAG)
endif

# OpenMP when the compiler has it (clang may lack libomp).
HAVE_OMP := $(shell printf 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo 1)
ifeq ($(HAVE_OMP),1)
OMP := -fopenmp
else
OMP :=
endif

CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(OPT) $(OMP) -Icommon -Icommon/run -Ichapters
LDLIBS := -lm

# --- CUDA detection -----------------------------------------------------------
# nvcc is looked for on PATH, then in /usr/local/cuda/bin. Where it exists
# the default is CUDA=1: every cuda/*.cu is compiled by nvcc too (the
# "emu" block at the end of this file). Without nvcc the build is CPU only;
# the kernels still run under the emulator in `make test` either way.
NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
ifeq ($(origin CUDA),undefined)
CUDA := $(if $(NVCC),1,0)
endif
CUDA_SOURCES := $(wildcard cuda/*.cu)
ifeq ($(CUDA),1)
ifeq ($(NVCC),)
$(error CUDA=1 but nvcc was not found on PATH nor in /usr/local/cuda/bin; install the CUDA toolkit or build with CUDA=0)
endif
ifeq ($(CUDA_SOURCES),)
CUDA_NOTE := nvcc: found at $(NVCC), but cuda/ has no kernels yet: building CPU only
CUDA := 0
else
CUDA_NOTE := nvcc: found at $(NVCC): compiling cuda/*.cu for sm_80 and sm_90 (CUDA=0 skips it)
endif
else
CUDA_NOTE := $(if $(NVCC),nvcc: found at $(NVCC) but CUDA=0: building CPU only,nvcc: not found: building CPU only (the kernels still run under the emulator in make test))
endif

# --- the library --------------------------------------------------------------
BUILD ?= build/$(VARIANT)
LIB_SRCS := $(wildcard common/*.c) $(wildcard common/run/*.c) $(wildcard $(SRC)/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB := $(BUILD)/libganbook.a

# Every object depends on the exact compile command, kept in a stamp file
# that changes only when the command does: a new flag in this Makefile (or
# another CC) rebuilds everything instead of silently mixing objects built
# two ways (an old object without -fno-math-errno once made Adam 40% slower).
FLAGS_STAMP := $(BUILD)/compile-command
$(shell mkdir -p $(BUILD) && { echo '$(CC) $(CFLAGS)' | cmp -s - $(FLAGS_STAMP) || echo '$(CC) $(CFLAGS)' >$(FLAGS_STAMP); })

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

-include $(LIB_OBJS:.o=.d)

.PHONY: all test grade run-grader handout bench data plots clean cuda-note lib

cuda-note:
	@echo "$(CUDA_NOTE)"

lib: $(LIB)

# --- chapters ----------------------------------------------------------------------
# Each chapter is linked in the build dir of its variant (SRC, DEBUG) and
# copied to the root every time, so switching SRC=exercises/solutions always
# gives ./chapterN built from the copy asked for.
# The chapter's other .c files (chapters/ch03_dcgan/student_ops.c) are
# compiled like the library's and linked in beside main.c.
chapter_objs = $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(1)main.c,$(wildcard $(1)*.c)))
define chapter_rule
$(BUILD)/chapter$(call chapter_num,$(1)): $(1)main.c $(call chapter_objs,$(1)) $(LIB)
	$$(CC) $$(CFLAGS) -MMD -MP $(1)main.c $(call chapter_objs,$(1)) $(LIB) $$(LDLIBS) -o $$@
-include $(BUILD)/chapter$(call chapter_num,$(1)).d $(patsubst %.o,%.d,$(call chapter_objs,$(1)))
chapter$(call chapter_num,$(1)): $(BUILD)/chapter$(call chapter_num,$(1)) | cuda-note
	@cp $$< $$@.tmp && mv -f $$@.tmp $$@
endef
.PHONY: $(CHAPTERS)
$(foreach d,$(CHAPTER_DIRS),$(eval $(call chapter_rule,$(d))))

# --- tests: tests/test_*.c, each its own program --------------------------------
TEST_SRCS ?= $(wildcard tests/test_*.c)
TEST_SCRIPTS ?= $(wildcard tests/test_*.sh)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_COMMON := $(wildcard tests/support/*.c)

$(BUILD)/tests/%: tests/%.c $(TEST_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/support -MMD -MP $< $(TEST_COMMON) $(LIB) $(LDLIBS) -o $@

-include $(TEST_BINS:=.d)

test: cuda-note $(TEST_BINS) $(CHAPTERS) $(BUILD)/train_classifier
	@BUILD=$(BUILD) CC="$(CC)" bash tests/run_tests.sh $(TEST_BINS) $(TEST_SCRIPTS)

# --- grader -----------------------------------------------------------------------
# Grades exercises/ unless SRC is given on the command line; ONLY="3.1 3.2"
# grades those (default: the list in exercises/HANDOUT when there is one),
# FORMAT=json prints one JSON document. See tests/grader/grader.c.
GRADE_SRC := $(if $(filter command line,$(origin SRC)),$(SRC),exercises)
grade:
	@$(MAKE) --no-print-directory -s SRC=$(GRADE_SRC) run-grader

GRADE_ONLY := $(or $(ONLY),$(if $(filter exercises,$(SRC)),$(shell sed 's/\#.*//' exercises/HANDOUT 2>/dev/null)))
run-grader: $(BUILD)/grader
	@$(if $(GRADER_CUDA_OBJS),,{ echo "grade: exercises 3.7 and 3.8 (CUDA kernels) skipped: no C++ compiler ($(EMU_CXX)) to build them under the emulator"; echo "HINT: install g++ (apt-get install g++) to grade them"; } >&2)
	@bash tests/grader/grade.sh $(BUILD) $(if $(filter json,$(FORMAT)),--json) $(GRADE_ONLY)

# make handout ONLY="3.1 3.2": rewrites exercises/ with only those exercises
# stubbed (the others keep the reference code) and records the list in
# exercises/HANDOUT; make grade then grades that subset. Overwrites exercises/.
handout:
	@if [ -z "$(strip $(ONLY))" ]; then echo 'make handout: which exercises? make handout ONLY="3.1 3.2"'; \
	    echo 'HINT: numbers as in exercises/README.md; "3" hands out all of chapter 3'; exit 2; fi
	@bash tests/grader/make_stubs.sh exercises --only "$(ONLY)"
	@echo "exercises/: stubs for $(ONLY) (the others solved); make grade grades them"

# What each student function calls: the same sources compiled once more with
# a section per function (tests/grader/calls.sh reads the relocations).
CALLS_OBJS := $(patsubst %.c,$(BUILD)/calls/%.o,$(wildcard $(SRC)/*.c))
$(BUILD)/calls/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -ffunction-sections -fdata-sections -MMD -MP -c $< -o $@
-include $(CALLS_OBJS:.o=.d)
$(BUILD)/student-calls.txt: $(CALLS_OBJS) tests/grader/calls.sh
	@bash tests/grader/calls.sh $(CALLS_OBJS) >$@.tmp && mv -f $@.tmp $@

# The grader links the library without the CUDA backend (it grades no op on
# a device), plus, where a C++ compiler exists, the emulated convolution lab
# for exercises 3.7 and 3.8 (GRADER_CUDA_*, in the emu section below).
$(BUILD)/grader: $(wildcard tests/grader/*.c) $(wildcard tests/grader/*.h) $(LIB) $(BUILD)/student-calls.txt
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/grader $(GRADER_CUDA_FLAGS) -DGRADER_CALLS='"$(BUILD)/student-calls.txt"' $(wildcard tests/grader/*.c) $(GRADER_CUDA_OBJS) $(LIB) -lm $(GRADER_CUDA_LIBS) -o $@

# --- bench --------------------------------------------------------------------------
BENCH_SRCS := $(wildcard bench/*.c)
bench: cuda-note $(LIB)
	@BUILD=$(BUILD) CC="$(CC)" CFLAGS="$(CFLAGS)" LIB="$(LIB)" bash bench/run_bench.sh

# make profile [WORKLOADS="mlp_b64 dcgan32_mnist_b128"]: where a step's CPU time
# goes (perf record, summed into GEMM, packing, col2im, batch norm, ...).
.PHONY: profile
profile: $(LIB)
	@BUILD=$(BUILD) CC="$(CC)" CFLAGS="$(CFLAGS)" LIB="$(LIB)" bash bench/profile.sh $(WORKLOADS)

data:
	@bash datasets/fetch.sh all

plots:
	@bash plots/render_all.sh

clean:
	rm -rf build chapter[0-9] chapter[0-9][0-9] train_classifier

# --- chapters 1-2: the toy evaluation table and the README figures ------------------
# eval-toys: chapters 1, 2, 4 and 5 (those that exist; chapters/eval_toys.sh says
# which it skips). TOY_CHAPTERS="5" make eval-toys runs only chapter 5's rows.
.PHONY: eval-toys figures
eval-toys: $(filter chapter1 chapter2 chapter4 chapter5,$(CHAPTERS))
	@bash chapters/eval_toys.sh

figures: chapter1 chapter2 chapter3
	@bash chapters/make_figures.sh

# --- chapter 3: the table of convolution kernels (naive, tiled, gemm, yours) ---------
.PHONY: conv-table
conv-table: chapter3
	@bash chapters/conv_table.sh

# --- the evaluation classifier (common/run/eval_mnist.h, tools/train_classifier.c) ---
# make classifier [DATASET=mnist|fashion]: trains it once into
# datasets/data/<name>/classifier.bin; later calls find it valid and only
# print its calibration table. ./train_classifier --dataset NAME --force retrains.
DATASET ?= mnist
$(BUILD)/train_classifier: tools/train_classifier.c $(LIB)
	$(CC) $(CFLAGS) -MMD -MP tools/train_classifier.c $(LIB) $(LDLIBS) -o $@
-include $(BUILD)/train_classifier.d
train_classifier: $(BUILD)/train_classifier
	@cp $< $@.tmp && mv -f $@.tmp $@
classifier: train_classifier
	./train_classifier --dataset $(DATASET)
.PHONY: classifier train_classifier

# --- emu: the CUDA sources built two ways (issue 10, cuda/README.md) ----------------
# Every cuda/*.cu is compiled
#   - by the host C++ compiler under the emulator (cuda/emu/), always: the
#     objects go into $(BUILD)/libganbook_cuda_emu.a, and `make test` runs
#     the kernels that way;
#   - by nvcc for sm_80 and sm_90 when CUDA=1 (the default where nvcc
#     exists), warnings as errors, with ptxas's register and spill report
#     saved next to each object (<name>.ptxas.txt): $(BUILD)/libganbook_cuda.a.
# A .cu file that has a `#ifdef LAB_MAIN` section is also a kernel-lab
# program (llm.c's dev/cuda shape): built with -DLAB_MAIN it validates every
# kernel version against its CPU reference, then times them. Each lab
# program takes --quick (validate small awkward shapes, no timing), which
# `make test` runs under the emulator in forward and reverse thread order.
#   make cuda-emu          the emulated library and lab programs
#   make cuda-lab-emu      run every lab program under the emulator (no GPU needed)
#   make cuda-nvcc         (CUDA=1) the nvcc library and lab programs
EMU_CXX ?= $(if $(findstring clang,$(notdir $(CC))),clang++,g++)
# -I$(SRC): cuda/conv2d.cu includes chapter 3's CUDA exercises from $(SRC)/ch03_cuda_conv.cu.
EMU_CXXFLAGS := -std=c++17 -DGANBOOK_CUDA_EMU $(WARN) -Wno-unknown-pragmas $(OPT) -Icuda -Icommon -I$(SRC)
EMU_BUILD := $(BUILD)/emu
LAB_SOURCES := $(if $(CUDA_SOURCES),$(shell grep -l '^\#ifdef LAB_MAIN' $(CUDA_SOURCES)))
LAB_NAMES := $(patsubst cuda/%.cu,%,$(LAB_SOURCES))
CUDA_EMU_OBJS := $(patsubst cuda/%.cu,$(EMU_BUILD)/%.o,$(CUDA_SOURCES)) $(EMU_BUILD)/emu/emu.o
CUDA_EMU_LIB := $(BUILD)/libganbook_cuda_emu.a
EMU_LABS := $(addprefix $(EMU_BUILD)/lab/,$(LAB_NAMES))
EMU_STAMP := $(EMU_BUILD)/compile-command
$(shell mkdir -p $(EMU_BUILD) && { echo '$(EMU_CXX) $(EMU_CXXFLAGS)' | cmp -s - $(EMU_STAMP) || echo '$(EMU_CXX) $(EMU_CXXFLAGS)' >$(EMU_STAMP); })

$(EMU_BUILD)/emu/emu.o: cuda/emu/emu.cpp $(EMU_STAMP)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_CXXFLAGS) -MMD -MP -c $< -o $@
$(EMU_BUILD)/%.o: cuda/%.cu $(EMU_STAMP)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_CXXFLAGS) -x c++ -MMD -MP -c $< -o $@
$(CUDA_EMU_LIB): $(CUDA_EMU_OBJS)
	@rm -f $@
	ar rcs $@ $^
# (exercise_stub.o: a stub of exercise 3.7 or 3.8 stops the lab, naming itself.)
$(EMU_BUILD)/lab/%: cuda/%.cu $(EMU_BUILD)/emu/emu.o $(BUILD)/common/exercise_stub.o $(EMU_STAMP)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_CXXFLAGS) -DLAB_MAIN -MMD -MP -x c++ $< -x none $(EMU_BUILD)/emu/emu.o $(BUILD)/common/exercise_stub.o -o $@
-include $(CUDA_EMU_OBJS:.o=.d) $(EMU_LABS:=.d)
# conv2d.cu includes $(SRC)/ch03_cuda_conv.cu (exercises 3.7, 3.8): said here
# as well as in the .d files, whose paths go stale when a build is copied.
CONV_EXERCISE_DEPS := $(wildcard $(SRC)/*.cu) cuda/conv_exercises.h
$(EMU_BUILD)/conv2d.o $(EMU_BUILD)/lab/conv2d: $(CONV_EXERCISE_DEPS)

.PHONY: cuda-emu cuda-lab-emu cuda-nvcc cuda-emu-tests print-cuda-link print-cflags
cuda-emu: $(CUDA_EMU_LIB) $(EMU_LABS)

# LAB_ARGS is passed to every lab program (default: validate, then time on
# shapes small enough for the emulator; --help lists a program's flags).
LAB_ARGS ?= --emu
cuda-lab-emu: $(EMU_LABS)
	@for p in $(EMU_LABS); do echo "== $$p $(LAB_ARGS)"; $$p $(LAB_ARGS) || exit 1; done

# The tests: the programs tests/cuda/*.cu (the emulator's features, the
# planted bugs), planted_bugs also built with AddressSanitizer, and the lab
# programs; tests/test_cuda_emu.sh runs them.
EMU_TEST_PROGS := $(patsubst tests/cuda/%.cu,$(EMU_BUILD)/tests/%,$(wildcard tests/cuda/*.cu))
EMU_ASAN_FLAGS := -std=c++17 -DGANBOOK_CUDA_EMU -g -O1 -fno-omit-frame-pointer -fsanitize=address -Icuda -Icommon
$(EMU_BUILD)/tests/%: tests/cuda/%.cu $(EMU_BUILD)/emu/emu.o cuda/cuda_common.h cuda/emu/emu.h
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_CXXFLAGS) -x c++ $< -x none $(EMU_BUILD)/emu/emu.o -o $@
$(EMU_BUILD)/tests/planted_bugs_asan: tests/cuda/planted_bugs.cu cuda/emu/emu.cpp cuda/emu/emu.h
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_ASAN_FLAGS) -x c++ $< -x none cuda/emu/emu.cpp -o $@
cuda-emu-tests: cuda-emu $(EMU_TEST_PROGS) $(EMU_BUILD)/tests/planted_bugs_asan
# Without a C++ compiler (rare: nvcc needs one too) test_cuda_emu.sh says it skipped.
ifneq ($(shell command -v $(EMU_CXX) 2>/dev/null),)
test: cuda-emu-tests
# Chapter 3's CUDA exercises in the grader (3.7 the naive kernel, 3.8 the
# tiled kernel's load; solutions|exercises/ch03_cuda_conv.cu): the lab's
# conv2d.o under the emulator (which includes $(SRC)'s copy of them) and
# the grader's harness tests/grader/grade_cuda.cu; the student's .cu files
# compiled once more, a section per function, for the calls check (the same
# as the .c files, but by the emulator's C++ compiler).
GRADER_CUDA_FLAGS := -DGRADER_CUDA_EMU
GRADER_CUDA_OBJS := $(EMU_BUILD)/grade_cuda.o $(EMU_BUILD)/conv2d.o $(EMU_BUILD)/emu/emu.o
GRADER_CUDA_LIBS := -lstdc++
$(BUILD)/grader: $(GRADER_CUDA_OBJS)
$(EMU_BUILD)/grade_cuda.o: tests/grader/grade_cuda.cu $(EMU_STAMP)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_CXXFLAGS) -Itests/grader -x c++ -MMD -MP -c $< -o $@
CALLS_CU_OBJS := $(patsubst %.cu,$(BUILD)/calls/%.o,$(wildcard $(SRC)/*.cu))
CALLS_OBJS += $(CALLS_CU_OBJS)
$(BUILD)/calls/%.o: %.cu $(EMU_STAMP)
	@mkdir -p $(dir $@)
	$(EMU_CXX) $(EMU_CXXFLAGS) -ffunction-sections -fdata-sections -x c++ -MMD -MP -c $< -o $@
$(BUILD)/student-calls.txt: $(CALLS_CU_OBJS)
-include $(CALLS_CU_OBJS:.o=.d) $(EMU_BUILD)/grade_cuda.d
endif
# What a program needs to link the nvcc-built kernels, and the C flags
# (tools/gpu_check.sh builds bench/bench_gan.c with them).
print-cuda-link:
	@echo "$(if $(filter 1,$(CUDA)),$(CUDA_LIB) $(CUDA_LDLIBS))"
print-cflags:
	@echo "$(CC) $(CFLAGS) -Ichapters"

ifeq ($(CUDA),1)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
NVCC_BUILD := $(BUILD)/nvcc
NVCC_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
NVCC_FLAGS := -O3 -std=c++17 $(NVCC_ARCH) -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror -Icuda -Icommon -I$(SRC)
# The vendor yardsticks of the lab programs, where the toolkit has them.
LAB_VENDOR := $(if $(wildcard $(CUDA_HOME)/include/cublas_v2.h),-DLAB_HAVE_CUBLAS -lcublas) \
              $(if $(wildcard $(CUDA_HOME)/include/cudnn.h),-DLAB_HAVE_CUDNN -lcudnn)
CUDA_NVCC_OBJS := $(patsubst cuda/%.cu,$(NVCC_BUILD)/%.o,$(CUDA_SOURCES))
CUDA_LIB := $(BUILD)/libganbook_cuda.a
NVCC_LABS := $(addprefix $(NVCC_BUILD)/lab/,$(LAB_NAMES))
# The chapters link $(CUDA_LIB) with these (the seam branch wires them in).
CUDA_LDLIBS := -L$(CUDA_HOME)/lib64 -lcudart_static -ldl -lpthread -lrt -lstdc++
$(NVCC_BUILD)/%.o: cuda/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -Xptxas -v -MMD -MP -c $< -o $@ 2>$@.ptxas.txt || { cat $@.ptxas.txt; rm -f $@; exit 1; }
	@grep -q ' [1-9][0-9]* bytes spill' $@.ptxas.txt && echo "note: $<: ptxas reports register spills (see $@.ptxas.txt)" || true
$(CUDA_LIB): $(CUDA_NVCC_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(NVCC_BUILD)/lab/%: cuda/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -DLAB_MAIN -MMD -MP $< -o $@ $(LAB_VENDOR) -Xlinker -rpath,$(CUDA_HOME)/lib64
-include $(CUDA_NVCC_OBJS:.o=.d) $(NVCC_LABS:=.d)
$(NVCC_BUILD)/conv2d.o $(NVCC_BUILD)/lab/conv2d: $(CONV_EXERCISE_DEPS)
cuda-nvcc: $(CUDA_LIB) $(NVCC_LABS)
all: cuda-nvcc
else
cuda-nvcc:
	@echo "cuda-nvcc: $(CUDA_NOTE)"; exit 1
endif

# --- ch4: chapter 4 (WGAN): the README's figures ------------------------------------
.PHONY: figures-ch4
figures-ch4: chapter4
	@bash chapters/ch04_wgan/make_figures.sh
# --- ch7: the modern recipe's ablation table --------------------------------------
# make ablation-ch7 [TRAIN_SIZES="0 1000"] [SEEDS="1 2 3"] [STEPS=800]: see the script's header.
.PHONY: ablation-ch7
ablation-ch7: chapter7
	@bash chapters/ch07_modern_recipe/ablation.sh
# make figures-ch7 [STEPS=2000] [REUSE=1]: the README's pictures (D on training vs
# held-out images, each D layer's sigma, EMA vs raw G): three short runs, see the script.
.PHONY: figures-ch7
figures-ch7: chapter7
	@bash chapters/ch07_modern_recipe/make_figures.sh
# --- grader branch: fuzzing and coverage ------------------------------------------
# make fuzz [FUZZ_SECONDS=30]: each reader of untrusted input (IDX, checkpoint,
# flags) under libFuzzer + ASan/UBSan for that long (tests/fuzz/run_fuzz.sh).
# make coverage: line and branch coverage of common/ by make test, per file
# (tests/coverage.sh; gcc's gcov, build/coverage).
FUZZ_SECONDS ?= 30
.PHONY: fuzz coverage
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run_fuzz.sh
coverage:
	@bash tests/coverage.sh
# --- ch5: chapter 5 (WGAN-GP): its README figures ---------------------------------
.PHONY: figures-ch5
figures-ch5: chapter5
	@bash chapters/ch05_wgan_gp/make_figures.sh
# --- seam: the CUDA backend wired into the programs (issue 10, common/kernels.h) -----
# With CUDA=1 every program links the nvcc-built kernels (libganbook_cuda.a);
# -u cuda_backend pulls cuda/backend.cu's table in, and tensor.c finds it
# through weak references (the C objects are the same with and without CUDA).
# The emulated GPU (libganbook_cuda_emu.a) is linked into the CUDA tests and
# into emulated copies of chapters 1 and 3-7, so `make test` runs the whole
# backend, ops and a chapter step, on any machine.
ifeq ($(CUDA),1)
LDLIBS += -Wl,-u,cuda_backend $(CUDA_LIB) $(CUDA_LDLIBS)
$(foreach c,$(CHAPTERS),$(eval $(BUILD)/$(c): $(CUDA_LIB)))
$(TEST_BINS): $(CUDA_LIB)
endif
# The programs' link line differs with CUDA=0/1: a stamp that changes with it
# relinks them when CUDA is switched (else a CPU-only ./chapter1 would stay
# after make CUDA=1, or the reverse).
LINK_STAMP := $(BUILD)/link-command
$(shell mkdir -p $(BUILD) && { echo '$(LDLIBS)' | cmp -s - $(LINK_STAMP) || echo '$(LDLIBS)' >$(LINK_STAMP); })
$(foreach c,$(CHAPTERS),$(eval $(BUILD)/$(c): $(LINK_STAMP)))
$(TEST_BINS) $(BUILD)/grader: $(LINK_STAMP)
EMU_LDLIBS := -Wl,-u,cuda_backend $(CUDA_EMU_LIB) -lstdc++ -lm
$(BUILD)/tests/test_cuda_ops: tests/test_cuda_ops.c $(TEST_COMMON) $(LIB) $(CUDA_EMU_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/support -MMD -MP $< $(TEST_COMMON) $(LIB) $(EMU_LDLIBS) -o $@
$(EMU_BUILD)/chapter%: $(LIB) $(CUDA_EMU_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $(wildcard chapters/ch0$*_*/*.c) $(LIB) $(EMU_LDLIBS) -o $@
EMU_CHAPTERS := $(addprefix $(EMU_BUILD)/,chapter1 chapter3 chapter4 chapter5 chapter6 chapter7)
ifneq ($(shell command -v $(EMU_CXX) 2>/dev/null),)
test: $(EMU_CHAPTERS)
endif
# Chapters 1-7 on the emulated GPU against the CPU (chapters 3, 6 and 7 take minutes).
.PHONY: cuda-chapters-emu
cuda-chapters-emu: $(EMU_CHAPTERS)
	@GANBOOK_CUDA_CH3=1 BUILD=$(BUILD) bash tests/test_cuda_chapters.sh
# --- ch6: chapter 6's figures, and the image scoreboard of chapters 3-6 ---------------
# make eval-images [EVAL_CHAPTERS="3 6"] [EXTRA="--steps 20"]: trains the image
# chapters on MNIST, one table (chapters/eval_images.sh says how long).
# make figures-ch6: the default runs behind chapter 6's README pictures.
.PHONY: eval-images figures-ch6
eval-images: $(filter chapter3 chapter4 chapter5 chapter6,$(CHAPTERS))
	@EVAL_CHAPTERS="$(or $(EVAL_CHAPTERS),3 4 5 6)" EXTRA="$(EXTRA)" bash chapters/eval_images.sh
figures-ch6: chapter6
	@bash chapters/ch06_conditional_gan/figures.sh
