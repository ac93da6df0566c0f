#include "sim/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <queue>
#include <random>

#include "policy/eviction.h"
#include "policy/routing.h"
#include "sim/fleet.h"
#include "sim/scale_decider.h"
#include "sim/service.h"

namespace cohost::sim {
namespace {

enum class EventType : uint8_t { kCompletion, kReady, kTick, kSample };

struct Event {
  double t;
  uint64_t seq;
  EventType type;
  int32_t copy;
  uint64_t gen;
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

enum class CopyState { kLoading, kReady, kDraining, kGone };

struct SimCopy {
  int model = 0;
  int node = -1;
  policy::Assignment assignment;
  CopyState state = CopyState::kLoading;
  std::unique_ptr<CopyServer> server;
  double share = 0;  // devices (or share of one) it reserves
  double busy = 0;   // share x busy fraction, as last added to the fleet
  uint64_t gen = 0;
  double idle_since = -1;  // ready and serving nothing since then; -1 while loading or serving
};

struct ModelState {
  Requirements req;
  int owner = -1;        // fleet owner: -1 shared pool, else the model's own nodes
  bool autoscaled = false;
  bool pinned = false;   // static strategies: nodes stay up all period
  std::vector<double> speedup;
  std::vector<int> ready;  // routable copies
  std::vector<int> alive;  // loading or ready (not draining)
  int placed = 0;          // alive + draining
  std::deque<int64_t> held;
  int64_t outstanding = 0;  // held + queued + in slots
  double integral = 0, last_t = 0;
  double last_request = -1;
  int64_t arrivals_since_tick = 0;
  std::unique_ptr<ScaleDecider> decider;  // autoscaled models only
  double ttft_slo = 0, itl_slo = 0;
  ModelResult result;
  int64_t slo_met = 0;
};

// Simulated seconds as the policy's time points (as sim/scale_decider.cc does).
policy::EvictionTime At(double seconds) {
  return policy::EvictionTime{} + std::chrono::duration_cast<policy::EvictionTime::duration>(
                                      std::chrono::duration<double>(seconds));
}

double Percentile(std::vector<float>* v, double q) {
  if (v->empty()) return 0;
  size_t k = static_cast<size_t>(std::min<double>(v->size() - 1, std::floor(q * (v->size() - 1) + 0.5)));
  std::nth_element(v->begin(), v->begin() + static_cast<long>(k), v->end());
  return (*v)[k];
}

class Simulation {
 public:
  Simulation(const Scenario& s, const std::vector<Request>& r, StrategyKind kind)
      : s_(s), reqs_(r), kind_(kind), fleet_(s, s.duration_s), rng_(s.seed ^ 0x5EEDULL) {}

  StatusOr<StrategyResult> Run();

 private:
  void Push(double t, EventType type, int32_t copy = -1, uint64_t gen = 0) {
    events_.push({t, seq_++, type, copy, gen});
  }
  void Outstanding(int m, int64_t delta, double now) {
    ModelState& ms = models_[m];
    ms.integral += static_cast<double>(ms.outstanding) * (now - ms.last_t);
    ms.last_t = now;
    ms.outstanding += delta;
  }
  Status Setup();
  // Places and starts a copy (ready at once when `ready_now`: the fleet as it stands at the start).
  // Copies wanted after the start may evict idle copies of lower priority (or, for a model with
  // requests held and no copy, reclaim long-idle ones of equal priority).
  Status AddCopy(int m, double now, bool ready_now);
  Status RemoveCopy(int c, double now, bool keep_node = false);
  // Makes room for a copy of m by evicting idle copies of other models (policy::PlanEviction).
  // Returns the node it was placed on, or -1 when no plan frees enough.
  StatusOr<int> PlaceByEviction(int m, double now, policy::Assignment* assignment);
  // The ready copies of other autoscaled models on `node`, as eviction candidates for model m.
  std::vector<policy::EvictionCandidate> EvictionCandidates(int m, int node) const;
  void Unlist(int c);  // takes a copy out of its model's alive and ready lists
  void Touch(int c, double now);  // brings a copy's clock to now
  void Reschedule(int c, double now);
  void Route(int64_t req, double now);
  Status OnArrival(int64_t req, double now);
  Status OnCompletion(int c, double now);
  Status OnReady(int c, double now);
  Status OnTick(double now);
  ScaleInput Observe(int m, double now);
  Status Reconcile(int m, int desired, double now);
  void Reject(int64_t req, int m, double now) {
    ++result_.rejected;
    ++models_[m].result.rejected;
    Outstanding(m, -1, now);
    (void)req;
  }
  void TakeSample(double now);
  void Finish();

  const Scenario& s_;
  const std::vector<Request>& reqs_;
  StrategyKind kind_;
  Fleet fleet_;
  std::mt19937_64 rng_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t seq_ = 0;
  std::vector<SimCopy> copies_;
  std::vector<ModelState> models_;
  std::vector<float> ttft_;  // per request; < 0 until the first token
  std::vector<float> itl_, e2e_;
  int64_t slo_met_ = 0, ttft_met_ = 0, itl_met_ = 0;
  std::vector<int64_t> finished_;
  StrategyResult result_;
};

Status Simulation::Setup() {
  std::vector<int> peak = PeakCopies(s_, reqs_);
  models_.resize(s_.models.size());
  for (size_t m = 0; m < s_.models.size(); ++m) {
    const ModelSpec& spec = s_.models[m];
    ModelState& ms = models_[m];
    bool dedicated = kind_ == StrategyKind::kDedicated ||
                     (kind_ == StrategyKind::kHybrid && spec.dedicated_in_hybrid);
    ms.autoscaled = kind_ == StrategyKind::kInferenceComponents ||
                    (kind_ == StrategyKind::kHybrid && !spec.dedicated_in_hybrid);
    ms.pinned = !ms.autoscaled;
    ms.owner = dedicated ? static_cast<int>(m) : -1;
    ms.req.accelerators = dedicated ? std::max(1.0, spec.accelerators) : spec.accelerators;
    ms.req.memory_mib = spec.memory_mib;
    ms.req.cpu_cores = spec.cpu_cores;
    RETURN_IF_ERROR(ms.req.Validate("models[" + std::to_string(m) + "].reservation"));
    ms.speedup = SpeedupTable(spec.profile, spec.parallel);
    ms.ttft_slo = spec.ttft_slo_s > 0 ? spec.ttft_slo_s : s_.ttft_slo_s;
    ms.itl_slo = spec.itl_slo_s > 0 ? spec.itl_slo_s : s_.itl_slo_s;
    int initial = peak[m];
    if (ms.autoscaled) {
      initial = std::max(spec.scaling.min_copies, std::min(peak[m], 1));
      initial = std::min(initial, spec.scaling.max_copies);
    }
    if (ms.autoscaled) {
      ms.decider = MakeLiveScaleDecider(spec, initial);
      result_.scaler = ms.decider->Name();
    }
    for (int i = 0; i < initial; ++i) RETURN_IF_ERROR(AddCopy(static_cast<int>(m), 0, true));
  }
  return Status::Ok();
}

Status Simulation::AddCopy(int m, double now, bool ready_now) {
  ModelState& ms = models_[m];
  policy::Assignment a;
  ASSIGN_OR_RETURN(int node, fleet_.Place(ms.req, ms.owner, ms.pinned, now, &a));
  if (node < 0 && !ready_now && ms.autoscaled && ms.owner < 0) {
    ASSIGN_OR_RETURN(node, PlaceByEviction(m, now, &a));
  }
  if (node < 0) {
    ++result_.placement_refusals;
    return Status::Ok();
  }
  SimCopy c;
  c.model = m;
  c.node = node;
  c.assignment = std::move(a);
  c.server = std::make_unique<CopyServer>(&ms.speedup);
  c.share = ms.req.accelerators;
  int id = static_cast<int>(copies_.size());
  copies_.push_back(std::move(c));
  ms.alive.push_back(id);
  ++ms.placed;
  if (ready_now) {
    copies_[id].state = CopyState::kReady;
    copies_[id].idle_since = now;
    ms.ready.push_back(id);
  } else {
    ++result_.cold_starts;
    ++ms.result.cold_starts;
    Push(now + s_.models[m].load_time_s, EventType::kReady, id);
  }
  return Status::Ok();
}

void Simulation::Unlist(int c) {
  ModelState& ms = models_[copies_[c].model];
  auto a = std::find(ms.alive.begin(), ms.alive.end(), c);
  if (a != ms.alive.end()) ms.alive.erase(a);
  auto r = std::find(ms.ready.begin(), ms.ready.end(), c);
  if (r != ms.ready.end()) ms.ready.erase(r);
}

std::vector<policy::EvictionCandidate> Simulation::EvictionCandidates(int m, int node) const {
  std::vector<policy::EvictionCandidate> candidates;
  for (size_t c = 0; c < copies_.size(); ++c) {
    const SimCopy& copy = copies_[c];
    if (copy.node != node || copy.model == m || copy.state != CopyState::kReady) continue;
    const ModelState& other = models_[copy.model];
    if (!other.autoscaled) continue;
    const ModelSpec& spec = s_.models[copy.model];
    policy::EvictionCandidate cand;
    cand.copy_id = std::to_string(c);
    cand.component = spec.name;
    cand.priority = spec.priority;
    cand.in_flight = static_cast<int>(copy.server->outstanding());
    cand.component_waiting = static_cast<int>(other.held.size());
    cand.component_copies = static_cast<int>(other.alive.size());
    cand.component_min = spec.scaling.min_copies;
    if (copy.idle_since >= 0) cand.idle_since = At(copy.idle_since);
    cand.reclaim_after_idle = std::chrono::seconds(std::lround(spec.scaling.reclaim_after_idle_s));
    cand.assignment = copy.assignment;
    candidates.push_back(std::move(cand));
  }
  return candidates;
}

StatusOr<int> Simulation::PlaceByEviction(int m, double now, policy::Assignment* assignment) {
  const ModelState& ms = models_[m];
  policy::EvictionRequester requester;
  requester.component = s_.models[m].name;
  requester.priority = s_.models[m].priority;
  requester.need = ms.req;
  requester.cold = !ms.held.empty() && ms.alive.empty();  // as the live node controller decides
  for (int node : fleet_.RunningNodes(-1)) {
    std::vector<policy::EvictionCandidate> candidates = EvictionCandidates(m, node);
    if (candidates.empty()) continue;
    policy::EvictionPlan plan =
        policy::PlanEviction(fleet_.snapshot(node), requester, candidates, At(now));
    if (plan.evict.empty()) continue;  // it did not fit before, so an empty plan means no room
    for (const policy::Eviction& e : plan.evict) {
      int c = std::stoi(e.copy_id);
      Unlist(c);
      models_[copies_[c].model].decider->Evicted(now);
      RETURN_IF_ERROR(RemoveCopy(c, now, /*keep_node=*/true));
      ++result_.evictions;
      ++models_[copies_[c].model].result.evicted;
      if (e.ground == policy::EvictionGround::kIdleReclaim) ++result_.reclaims;
    }
    RETURN_IF_ERROR(fleet_.PlaceAt(node, plan.assignment, now));
    *assignment = plan.assignment;
    return node;
  }
  return -1;
}

Status Simulation::RemoveCopy(int c, double now, bool keep_node) {
  SimCopy& copy = copies_[c];
  ModelState& ms = models_[copy.model];
  copy.state = CopyState::kGone;
  --ms.placed;
  fleet_.Advance(now);
  fleet_.AddBusy(-copy.busy);
  copy.busy = 0;
  copy.server.reset();
  return fleet_.Release(copy.node, copy.assignment, now, keep_node);
}

void Simulation::Touch(int c, double now) {
  SimCopy& copy = copies_[c];
  const int m = copy.model;
  copy.server->Advance(now, [&](int64_t req, double t) {
    ttft_[req] = static_cast<float>(t - reqs_[req].arrival_s);
    (void)m;
  });
}

void Simulation::Reschedule(int c, double now) {
  SimCopy& copy = copies_[c];
  double busy = copy.share * copy.server->Busy();
  fleet_.Advance(now);
  fleet_.AddBusy(busy - copy.busy);
  copy.busy = busy;
  ++copy.gen;
  double next = copy.server->NextCompletion();
  if (std::isfinite(next)) Push(std::max(next, now), EventType::kCompletion, c, copy.gen);
}

void Simulation::Route(int64_t req, double now) {
  const Request& r = reqs_[req];
  ModelState& ms = models_[r.model];
  std::vector<policy::CopyLoad> loads(ms.ready.size());
  for (size_t i = 0; i < ms.ready.size(); ++i) {
    loads[i].outstanding = copies_[ms.ready[i]].server->outstanding();
  }
  size_t pick = policy::ChooseCopy(policy::RoutingStrategy::kLeastOutstanding, loads, rng_()).value();
  int c = ms.ready[pick];
  copies_[c].idle_since = -1;
  Touch(c, now);
  const ServiceProfile& p = s_.models[r.model].profile;
  copies_[c].server->Add(req, RequestWork(p, r.prompt_tokens, r.output_tokens),
                         FirstTokenWork(p, r.prompt_tokens));
  Reschedule(c, now);
}

Status Simulation::OnArrival(int64_t req, double now) {
  const Request& r = reqs_[req];
  ModelState& ms = models_[r.model];
  ms.last_request = now;
  ++ms.arrivals_since_tick;
  ++ms.result.requests;
  Outstanding(r.model, +1, now);
  if (!ms.ready.empty()) {
    Route(req, now);
    return Status::Ok();
  }
  if (static_cast<int>(ms.held.size()) >= s_.max_held_per_model) {
    Reject(req, r.model, now);
    return Status::Ok();
  }
  ms.held.push_back(req);
  ++result_.held;
  ++ms.result.held;
  if (ms.autoscaled && ms.alive.empty()) {
    // The router wakes a component at zero copies at once, as the live one does.
    RETURN_IF_ERROR(Reconcile(r.model, ms.decider->Decide(Observe(r.model, now)), now));
  }
  return Status::Ok();
}

Status Simulation::OnCompletion(int c, double now) {
  SimCopy& copy = copies_[c];
  Touch(c, now);
  finished_.clear();
  copy.server->CompleteDue(now, &finished_);
  ModelState& ms = models_[copy.model];
  for (int64_t req : finished_) {
    const Request& r = reqs_[req];
    double e2e = now - r.arrival_s;
    if (ttft_[req] < 0) ttft_[req] = static_cast<float>(e2e);
    double itl = r.output_tokens > 1 ? (e2e - ttft_[req]) / (r.output_tokens - 1) : 0;
    ++result_.completed;
    bool t_ok = ttft_[req] <= ms.ttft_slo, i_ok = itl <= ms.itl_slo;
    ttft_met_ += t_ok;
    itl_met_ += i_ok;
    slo_met_ += t_ok && i_ok;
    ms.slo_met += t_ok && i_ok;
    itl_.push_back(static_cast<float>(itl));
    e2e_.push_back(static_cast<float>(e2e));
    Outstanding(copy.model, -1, now);
  }
  if (copies_[c].state == CopyState::kDraining && copies_[c].server->outstanding() == 0) {
    return RemoveCopy(c, now);
  }
  if (copies_[c].server->outstanding() == 0) copies_[c].idle_since = now;
  Reschedule(c, now);
  return Status::Ok();
}

Status Simulation::OnReady(int c, double now) {
  SimCopy& copy = copies_[c];
  if (copy.state != CopyState::kLoading) return Status::Ok();  // cancelled while loading
  copy.state = CopyState::kReady;
  copy.idle_since = now;
  ModelState& ms = models_[copy.model];
  ms.ready.push_back(c);
  while (!ms.held.empty()) {
    int64_t req = ms.held.front();
    ms.held.pop_front();
    if (now - reqs_[req].arrival_s > s_.hold_timeout_s) {
      Reject(req, copy.model, now);
    } else {
      Route(req, now);
    }
  }
  return Status::Ok();
}

Status Simulation::Reconcile(int m, int desired, double now) {
  ModelState& ms = models_[m];
  int alive = static_cast<int>(ms.alive.size());
  if (desired > alive) {
    for (int i = alive; i < desired; ++i) RETURN_IF_ERROR(AddCopy(m, now, false));
    return Status::Ok();
  }
  while (static_cast<int>(ms.alive.size()) > desired) {
    // Cancel a loading copy first; else drain the ready copy with the fewest requests.
    int pick = -1;
    for (int c : ms.alive) {
      if (copies_[c].state == CopyState::kLoading) pick = c;
    }
    if (pick < 0) {
      for (int c : ms.alive) {
        if (pick < 0 || copies_[c].server->outstanding() < copies_[pick].server->outstanding()) pick = c;
      }
    }
    Unlist(pick);
    if (copies_[pick].state == CopyState::kLoading || copies_[pick].server->outstanding() == 0) {
      RETURN_IF_ERROR(RemoveCopy(pick, now));
    } else {
      copies_[pick].state = CopyState::kDraining;
    }
  }
  return Status::Ok();
}

Status Simulation::OnTick(double now) {
  for (size_t m = 0; m < models_.size(); ++m) {
    ModelState& ms = models_[m];
    if (!ms.autoscaled) continue;
    Outstanding(static_cast<int>(m), 0, now);
    // Requests held past the timeout are refused now, not left waiting for ever.
    while (!ms.held.empty() && now - reqs_[ms.held.front()].arrival_s > s_.hold_timeout_s) {
      Reject(ms.held.front(), static_cast<int>(m), now);
      ms.held.pop_front();
    }
    ScaleInput in = Observe(static_cast<int>(m), now);
    in.invocations_per_minute = static_cast<double>(ms.arrivals_since_tick) * 60 / s_.autoscale_tick_s;
    ms.arrivals_since_tick = 0;
    ms.integral = 0;
    RETURN_IF_ERROR(Reconcile(static_cast<int>(m), ms.decider->Decide(in), now));
  }
  return Status::Ok();
}

ScaleInput Simulation::Observe(int m, double now) {
  const ModelState& ms = models_[m];
  ScaleInput in;
  in.now_s = now;
  in.current_copies = static_cast<int>(ms.alive.size());
  // As the live autoscaler reads its metrics: in flight = sent to a copy, waiting = held.
  in.waiting = static_cast<double>(ms.held.size());
  in.in_flight = static_cast<double>(ms.outstanding) - in.waiting;
  in.last_request_s = ms.last_request;
  return in;
}

void Simulation::TakeSample(double now) {
  fleet_.Advance(now);
  Sample s;
  s.t_s = now;
  std::vector<int> per_model(models_.size(), 0);
  for (size_t m = 0; m < models_.size(); ++m) {
    per_model[m] = models_[m].placed;
    models_[m].result.peak_copies = std::max(models_[m].result.peak_copies, models_[m].placed);
    s.copies += models_[m].placed;
    s.ready_copies += static_cast<int>(models_[m].ready.size());
  }
  s.nodes = fleet_.running_nodes();
  s.memory_util = fleet_.memory_util_now();
  s.compute_util = fleet_.compute_util_now();
  result_.peak_copies = std::max(result_.peak_copies, s.copies);
  result_.peak_nodes = std::max(result_.peak_nodes, s.nodes);
  result_.samples.push_back(s);
  result_.model_copies.push_back(std::move(per_model));
}

StatusOr<StrategyResult> Simulation::Run() {
  auto start = std::chrono::steady_clock::now();
  result_.kind = kind_;
  result_.requests = static_cast<int64_t>(reqs_.size());
  for (const Request& r : reqs_) {
    if (r.model < 0 || r.model >= static_cast<int>(s_.models.size())) {
      return InvalidArgument("requests", "a request names model index " + std::to_string(r.model) +
                                             " outside the scenario");
    }
  }
  bool any_autoscaled = kind_ == StrategyKind::kInferenceComponents || kind_ == StrategyKind::kHybrid;
  ttft_.assign(reqs_.size(), -1.f);
  itl_.reserve(reqs_.size());
  e2e_.reserve(reqs_.size());
  RETURN_IF_ERROR(Setup());
  if (any_autoscaled) Push(s_.autoscale_tick_s, EventType::kTick);
  Push(0, EventType::kSample);
  size_t next = 0;
  while (next < reqs_.size() || !events_.empty()) {
    bool arrival = next < reqs_.size() &&
                   (events_.empty() || reqs_[next].arrival_s < events_.top().t);
    if (arrival) {
      RETURN_IF_ERROR(OnArrival(static_cast<int64_t>(next), reqs_[next].arrival_s));
      ++next;
      continue;
    }
    Event e = events_.top();
    events_.pop();
    switch (e.type) {
      case EventType::kCompletion:
        if (copies_[e.copy].state != CopyState::kGone && e.gen == copies_[e.copy].gen) {
          RETURN_IF_ERROR(OnCompletion(e.copy, e.t));
        }
        break;
      case EventType::kReady:
        RETURN_IF_ERROR(OnReady(e.copy, e.t));
        break;
      case EventType::kTick:
        RETURN_IF_ERROR(OnTick(e.t));
        if (e.t + s_.autoscale_tick_s <= s_.duration_s) Push(e.t + s_.autoscale_tick_s, EventType::kTick);
        break;
      case EventType::kSample:
        TakeSample(e.t);
        if (e.t + s_.sample_s <= s_.duration_s) Push(e.t + s_.sample_s, EventType::kSample);
        break;
    }
  }
  // Whatever is still held has no copy coming: refused.
  for (size_t m = 0; m < models_.size(); ++m) {
    while (!models_[m].held.empty()) {
      Reject(models_[m].held.front(), static_cast<int>(m), s_.duration_s);
      models_[m].held.pop_front();
    }
  }
  fleet_.Advance(s_.duration_s);
  if (result_.completed + result_.rejected != result_.requests) {
    return Internal("engine lost requests: " + std::to_string(result_.requests) + " in, " +
                    std::to_string(result_.completed) + " completed, " +
                    std::to_string(result_.rejected) + " rejected");
  }
  Finish();
  result_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::move(result_);
}

void Simulation::Finish() {
  StrategyResult& r = result_;
  r.device_hours = fleet_.device_hours();
  r.cost = fleet_.cost();
  double n = r.requests > 0 ? static_cast<double>(r.requests) : 1;
  r.slo_attainment = static_cast<double>(slo_met_) / n;
  r.ttft_attainment = static_cast<double>(ttft_met_) / n;
  r.itl_attainment = static_cast<double>(itl_met_) / n;
  std::vector<float> ttft;
  ttft.reserve(r.completed);
  for (float v : ttft_) {
    if (v >= 0) ttft.push_back(v);
  }
  r.ttft_p50_s = Percentile(&ttft, 0.5);
  r.ttft_p99_s = Percentile(&ttft, 0.99);
  r.itl_p50_s = Percentile(&itl_, 0.5);
  r.itl_p99_s = Percentile(&itl_, 0.99);
  r.e2e_p50_s = Percentile(&e2e_, 0.5);
  r.e2e_p90_s = Percentile(&e2e_, 0.9);
  r.e2e_p99_s = Percentile(&e2e_, 0.99);
  for (ModelState& ms : models_) {
    ms.result.slo_attainment =
        ms.result.requests > 0 ? static_cast<double>(ms.slo_met) / static_cast<double>(ms.result.requests) : 1.0;
    r.models.push_back(ms.result);
  }
  r.mean_memory_util = fleet_.mean_memory_util();
  r.mean_compute_util = fleet_.mean_compute_util();
}

}  // namespace

std::vector<int> PeakCopies(const Scenario& s, const std::vector<Request>& requests) {
  size_t n = s.models.size();
  std::vector<int64_t> count(n, 0), window_count(n, 0), peak(n, 0);
  std::vector<double> work(n, 0);
  std::vector<int64_t> window(n, -1);
  for (const Request& r : requests) {
    if (r.model < 0 || static_cast<size_t>(r.model) >= n) continue;
    int64_t w = static_cast<int64_t>(r.arrival_s / s.peak_window_s);
    if (w != window[r.model]) {
      window[r.model] = w;
      window_count[r.model] = 0;
    }
    peak[r.model] = std::max(peak[r.model], ++window_count[r.model]);
    ++count[r.model];
    work[r.model] += RequestWork(s.models[r.model].profile, r.prompt_tokens, r.output_tokens);
  }
  std::vector<int> copies(n, 0);
  for (size_t m = 0; m < n; ++m) {
    if (count[m] == 0) continue;
    const ModelSpec& spec = s.models[m];
    double mean_work = work[m] / static_cast<double>(count[m]);
    double per_copy = SpeedupTable(spec.profile, spec.parallel).back() / mean_work;  // req/s
    double peak_rate = static_cast<double>(peak[m]) / s.peak_window_s;
    copies[m] = std::max(1, static_cast<int>(std::ceil(peak_rate / (per_copy * s.peak_headroom))));
  }
  return copies;
}

LowerBound ComputeLowerBound(const Scenario& s, const std::vector<Request>& requests) {
  std::vector<double> full(s.models.size());
  for (size_t m = 0; m < s.models.size(); ++m) {
    full[m] = SpeedupTable(s.models[m].profile, s.models[m].parallel).back();
  }
  double device_seconds = 0;
  for (const Request& r : requests) {
    const ModelSpec& spec = s.models[r.model];
    device_seconds += RequestWork(spec.profile, r.prompt_tokens, r.output_tokens) / full[r.model] *
                      spec.accelerators;
  }
  double cheapest = std::numeric_limits<double>::infinity();
  for (const NodeType& t : s.node_types) cheapest = std::min(cheapest, t.price_per_hour / t.devices);
  LowerBound lb;
  lb.device_hours = device_seconds / 3600;
  lb.cost = lb.device_hours * cheapest;
  return lb;
}

StatusOr<StrategyResult> RunStrategy(const Scenario& scenario, const std::vector<Request>& requests,
                                     StrategyKind kind) {
  Simulation sim(scenario, requests, kind);
  return sim.Run();
}

}  // namespace cohost::sim
