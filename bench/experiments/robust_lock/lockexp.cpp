// Robust-lock experiment: benchmark (default) and owner-death / interop tests (`./lockexp test`).
// Build: g++ -std=c++20 -O2 -pthread -o lockexp lockexp.cpp
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <new>
#include <string>
#include <vector>

#include "robust_fast.hpp"
#include "slot_lock.hpp"

namespace {

double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

void die(const char* what) {
  perror(what);
  std::exit(2);
}

// ---- shared region ----------------------------------------------------------------------------
constexpr size_t kRegion = 1 << 16;
struct Control {                 // at offset 0 of the region (own cache lines)
  alignas(64) int ready;
  alignas(64) double start[16];
  double end[16];
  double cpu[16];
  long vcsw[16];
  long long counts[16];
};
char* g_region = nullptr;
Control* ctl() { return reinterpret_cast<Control*>(g_region); }
char* arena() { return g_region + 4096; }  // page-aligned, so line-aligned
sl::Registry* registry() { return reinterpret_cast<sl::Registry*>(g_region + 32768); }

void map_region() {
  int fd = memfd_create("lockexp", 0);
  if (fd < 0) die("memfd_create");
  if (ftruncate(fd, kRegion) != 0) die("ftruncate");
  void* p = mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) die("mmap");
  close(fd);
  g_region = static_cast<char*>(p);
}

enum Kind { PLAIN, PLAIN_REC, ROBUST, ROBUST_REC, PLAIN_ADAPTIVE };
void init_mutex(pthread_mutex_t* m, Kind k) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (k == ROBUST || k == ROBUST_REC) pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  if (k == PLAIN_REC || k == ROBUST_REC) pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  if (k == PLAIN_ADAPTIVE) pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
  if (pthread_mutex_init(m, &a) != 0) die("pthread_mutex_init");
  pthread_mutexattr_destroy(&a);
}

// ---- variants ---------------------------------------------------------------------------------
enum Variant { V_A, V_B, V_C, V_C2, V_BOOST, V_D, V_DN, V_DI, V_MIX, V_D2, V_D3, V_D4, V_CAD, V_D5, V_X1, V_X2, V_X3, V_DP, V_SL, V_E1, V_E2, V_E4, V_COUNT };
const char* vname[] = {"a glibc robust+recursive", "b glibc robust normal", "c glibc plain",
                       "c2 glibc plain+recursive", "boost interprocess_mutex", "d fast(ii) robust+rec",
                       "dn fast(ii) robust normal", "di own lock (route i)", "mix d + glibc (a)", "d2 fast(ii) known-kind", "d3 = d2 + spin 50", "d4 = d2 + spin 200", "c-adaptive glibc plain", "d5 = d2 + load-before-CAS", "x1 lock d / unlock d2", "x2 lock d2 / unlock d", "x3 = d2 + kind load", "dp op_pending-only (unsafe)", "sl liveness-slot (iii)", "e1 = d + 1 us back-off", "e2 = d + 2 us back-off (adopted)", "e4 = d + 4 us back-off"};
enum Layout { COMPACT, SPLIT, SHMD };
const char* lname[] = {"compact", "split", "shmd-hdr"};
// COMPACT: mutex @0, int @40 (one line). SPLIT: mutex @0, int @64. SHMD: mutex @40 (straddles
// lines 0/1, as SegmentHeader::mutex), int @128 (layout v1, before the Value moved next to the mutex).
size_t mutex_off(Layout l) { return l == SHMD ? 40 : 0; }
size_t value_off(Layout l) { return l == COMPACT ? 40 : l == SPLIT ? 64 : 128; }

// LOCKEXP_WORK=n: n rounds of private work outside the critical section (0: the bench's loop).
const long g_work = [] { const char* w = std::getenv("LOCKEXP_WORK"); return w ? std::atol(w) : 0L; }();

template <class Lock, class Unlock>
[[gnu::noinline]] void loop(long iters, int* value, Lock lk, Unlock ul) {
  for (long i = 0; i < iters; ++i) {
    lk();
    ++*value;
    asm volatile("" ::: "memory");
    ul();
    for (long w = 0; w < g_work; ++w) asm volatile("" ::: "memory");
  }
}

void worker(Variant v, int idx, void* mx, int* value, long iters) {
  auto* m = static_cast<pthread_mutex_t*>(mx);
  switch (v) {
    case V_A: case V_B:
      loop(iters, value, [m] { if (pthread_mutex_lock(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { pthread_mutex_unlock(m); });
      break;
    case V_C: case V_C2:
      loop(iters, value, [m] { pthread_mutex_lock(m); }, [m] { pthread_mutex_unlock(m); });
      break;
    case V_BOOST: {
      auto* b = static_cast<boost::interprocess::interprocess_mutex*>(mx);
      loop(iters, value, [b] { b->lock(); }, [b] { b->unlock(); });
      break;
    }
    case V_D: case V_DN:
      loop(iters, value, [m] { if (rf::lock(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock(m); });
      break;
    case V_DI: {
      auto* o = static_cast<rf::OwnRobustLock*>(mx);
      loop(iters, value, [o] { rf::own_lock(o); }, [o] { rf::own_unlock(o); });
      break;
    }
    case V_D2:
      loop(iters, value, [m] { if (rf::lock_known<true>(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock_known<true>(m); });
      break;
    case V_D3:
      loop(iters, value, [m] { if (rf::lock_known<true, 50>(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock_known<true>(m); });
      break;
    case V_D4:
      loop(iters, value, [m] { if (rf::lock_known<true, 200>(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock_known<true>(m); });
      break;
    case V_D5:
      loop(iters, value, [m] { if (rf::lock_known<true, 0, true>(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock_known<true>(m); });
      break;
    case V_X1:
      loop(iters, value, [m] { if (rf::lock(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock_known<true>(m); });
      break;
    case V_X2:
      loop(iters, value, [m] { if (rf::lock_known<true>(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock(m); });
      break;
    case V_X3:
      loop(iters, value, [m] { if (rf::lock_known<true, 0, false, true>(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock_known<true>(m); });
      break;
    case V_DP: {
      auto* o = static_cast<rf::OwnRobustLock*>(mx);
      loop(iters, value, [o] { rf::pending_lock(o); }, [o] { rf::pending_unlock(o); });
      break;
    }
    case V_SL: {
      auto* l = static_cast<sl::SlotLock*>(mx);
      sl::Registry* reg = registry();
      loop(iters, value, [l, reg] { sl::lock(reg, l); }, [l, reg] { sl::unlock(reg, l); });
      break;
    }
    case V_E1:
      loop(iters, value, [m] { if (rf::lock<1000>(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock(m); });
      break;
    case V_E2:
      loop(iters, value, [m] { if (rf::lock<2000>(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock(m); });
      break;
    case V_E4:
      loop(iters, value, [m] { if (rf::lock<4000>(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
           [m] { rf::unlock(m); });
      break;
    case V_CAD:
      loop(iters, value, [m] { pthread_mutex_lock(m); }, [m] { pthread_mutex_unlock(m); });
      break;
    case V_MIX:
      if (idx % 2 == 0)
        loop(iters, value, [m] { if (rf::lock(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
             [m] { rf::unlock(m); });
      else
        loop(iters, value, [m] { if (pthread_mutex_lock(m) == EOWNERDEAD) pthread_mutex_consistent(m); },
             [m] { pthread_mutex_unlock(m); });
      break;
    default: break;
  }
}

void init_variant(Variant v, void* mx) {
  switch (v) {
    case V_A: case V_D: case V_MIX: case V_D2: case V_D3: case V_D4: case V_D5: case V_X1: case V_X2: case V_X3: case V_E1: case V_E2: case V_E4: init_mutex(static_cast<pthread_mutex_t*>(mx), ROBUST_REC); break;
    case V_B: case V_DN: init_mutex(static_cast<pthread_mutex_t*>(mx), ROBUST); break;
    case V_C: init_mutex(static_cast<pthread_mutex_t*>(mx), PLAIN); break;
    case V_C2: init_mutex(static_cast<pthread_mutex_t*>(mx), PLAIN_REC); break;
    case V_CAD: init_mutex(static_cast<pthread_mutex_t*>(mx), PLAIN_ADAPTIVE); break;
    case V_BOOST: new (mx) boost::interprocess::interprocess_mutex; break;
    case V_DI: case V_DP: new (mx) rf::OwnRobustLock; break;
    case V_SL: new (mx) sl::SlotLock; break;
    default: break;
  }
}

// One run: nprocs forked processes x iters; returns makespan / total ops (ns);
// g_last_cpu = summed CPU time of the workers / total ops (ns).
double g_last_cpu = 0, g_last_vcsw = 0;
double run(Variant v, Layout l, int nprocs, long iters) {
  std::memset(arena(), 0, 1024);
  void* mx = arena() + mutex_off(l);
  int* value = reinterpret_cast<int*>(arena() + value_off(l));
  init_variant(v, mx);
  __atomic_store_n(&ctl()->ready, 0, __ATOMIC_SEQ_CST);
  int gate[2];
  if (pipe(gate) != 0) die("pipe");
  std::vector<pid_t> kids;
  for (int i = 0; i < nprocs; ++i) {
    pid_t p = fork();
    if (p < 0) die("fork");
    if (p == 0) {
      close(gate[1]);
      __atomic_add_fetch(&ctl()->ready, 1, __ATOMIC_SEQ_CST);
      char c;
      if (read(gate[0], &c, 1) < 0) _exit(3);  // EOF = go
      timespec c0, c1;
      rusage r0, r1;
      getrusage(RUSAGE_SELF, &r0);
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
      ctl()->start[i] = now_ns();
      worker(v, i, mx, value, iters);
      ctl()->end[i] = now_ns();
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
      ctl()->cpu[i] = (c1.tv_sec - c0.tv_sec) * 1e9 + (c1.tv_nsec - c0.tv_nsec);
      getrusage(RUSAGE_SELF, &r1);
      ctl()->vcsw[i] = r1.ru_nvcsw - r0.ru_nvcsw;
      _exit(0);
    }
    kids.push_back(p);
  }
  close(gate[0]);
  while (__atomic_load_n(&ctl()->ready, __ATOMIC_SEQ_CST) < nprocs) usleep(200);
  usleep(2000);  // let them all block in read()
  close(gate[1]);
  for (pid_t p : kids) {
    int st;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { std::fprintf(stderr, "child failed\n"); std::exit(2); }
  }
  if (*value != nprocs * iters) {
    std::fprintf(stderr, "WRONG COUNT %s: %d != %ld\n", vname[v], *value, nprocs * iters);
    std::exit(1);
  }
  double s = 1e300, e = 0, cpu = 0, vcsw = 0;
  for (int i = 0; i < nprocs; ++i)
    s = std::min(s, ctl()->start[i]), e = std::max(e, ctl()->end[i]), cpu += ctl()->cpu[i], vcsw += ctl()->vcsw[i];
  g_last_vcsw = vcsw * 1000.0 / double(nprocs * iters);
  g_last_cpu = cpu / double(nprocs * iters);
  return (e - s) / double(nprocs * iters);
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * double(v.size() - 1);
  size_t i = size_t(pos);
  double f = pos - double(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}
double median(const std::vector<double>& v) { return quantile(v, 0.5); }

int bench(int rounds, int nprocs, long iters, bool layouts) {
  struct Cfg { Variant v; Layout l; };
  std::vector<Cfg> cfgs;
  for (int v = 0; v < V_COUNT; ++v) cfgs.push_back({Variant(v), COMPACT});
  if (layouts)
    for (Variant v : {V_A, V_C, V_BOOST, V_D})
      for (Layout l : {SPLIT, SHMD}) cfgs.push_back({v, l});
  if (const char* only = std::getenv("LOCKEXP_ONLY")) {  // "v[:l],v[:l],..." indices
    cfgs.clear();
    for (const char* q = only; *q;) {
      char* e;
      int ov = int(std::strtol(q, &e, 10)), ol = 0;
      if (*e == ':') ol = int(std::strtol(e + 1, &e, 10));
      cfgs.push_back({Variant(ov), Layout(ol)});
      q = *e == ',' ? e + 1 : e;
    }
  }
  std::vector<std::vector<double>> res(cfgs.size()), cpu(cfgs.size()), sw(cfgs.size());
  for (int r = 0; r < rounds; ++r) {
    // rotate the starting variant each round to spread drift
    for (size_t k = 0; k < cfgs.size(); ++k) {
      size_t j = (k + r) % cfgs.size();
      res[j].push_back(run(cfgs[j].v, cfgs[j].l, nprocs, iters));
      cpu[j].push_back(g_last_cpu);
      sw[j].push_back(g_last_vcsw);
    }
  }
  if (const char* raw = std::getenv("LOCKEXP_RAW")) {  // append raw samples: procs,variant,layout,wall,cpu,sleeps
    if (FILE* f = std::fopen(raw, "a")) {
      for (size_t j = 0; j < cfgs.size(); ++j)
        for (size_t r = 0; r < res[j].size(); ++r)
          std::fprintf(f, "%d,%s,%s,%.3f,%.3f,%.4f\n", nprocs, vname[cfgs[j].v], lname[cfgs[j].l], res[j][r], cpu[j][r], sw[j][r]);
      std::fclose(f);
    }
  }
  double base = 0;
  for (size_t j = 0; j < cfgs.size(); ++j)
    if (cfgs[j].v == V_C && cfgs[j].l == COMPACT) base = median(res[j]);
  if (base == 0) base = 1;
  std::printf("# %d procs x %ld iters, %d rounds, wall = makespan/ops (median, p25, p75); cpu = summed worker CPU/ops (median)\n", nprocs, iters, rounds);
  double base25 = 0, basecpu = 0;
  for (size_t j = 0; j < cfgs.size(); ++j)
    if (cfgs[j].v == V_C && cfgs[j].l == COMPACT) base25 = quantile(res[j], 0.25), basecpu = median(cpu[j]);
  if (base25 == 0) base25 = basecpu = 1;
  std::printf("%-28s %-9s %7s %6s %6s %6s %6s | %7s %6s | %s\n", "variant", "layout", "median", "vs c", "p25", "p25/c",
              "p75", "cpu/op", "vs c", "sleeps/kop");
  for (size_t j = 0; j < cfgs.size(); ++j) {
    double md = median(res[j]), q1 = quantile(res[j], 0.25), q3 = quantile(res[j], 0.75), cm = median(cpu[j]);
    std::printf("%-28s %-9s %7.2f %6.3f %6.2f %6.3f %6.2f | %7.2f %6.3f | %6.2f\n", vname[cfgs[j].v], lname[cfgs[j].l], md,
                md / base, q1, q1 / base25, q3, cm, cm / basecpu, median(sw[j]));
  }
  return 0;
}

int run_tests();  // lockexp_test.inc

}  // namespace

#include "lockexp_test.inc"

int main(int argc, char** argv) {
  map_region();
  std::string mode = argc > 1 ? argv[1] : "bench";
  if (mode == "test") return run_tests();
  if (mode == "inproc") {  // inproc VARIANT ITERS: single process, no fork (for callgrind)
    Variant v = Variant(std::atoi(argv[2]));
    long iters = std::atol(argv[3]);
    void* mx = arena();
    int* value = reinterpret_cast<int*>(arena() + 40);
    init_variant(v, mx);
    worker(v, 0, mx, value, iters);
    return *value == iters ? 0 : 1;
  }
  int rounds = argc > 2 ? std::atoi(argv[2]) : 9;
  int nprocs = argc > 3 ? std::atoi(argv[3]) : 5;
  long iters = argc > 4 ? std::atol(argv[4]) : 200000;
  bool layouts = argc > 5 ? std::atoi(argv[5]) != 0 : true;
  rf::ctx();  // report whether the fast path is enabled
  std::printf("# glibc %s, fast path %s\n", gnu_get_libc_version(), rf::t_ctx.head ? "enabled" : "DISABLED");
  return bench(rounds, nprocs, iters, layouts);
}
