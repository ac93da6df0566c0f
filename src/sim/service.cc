#include "sim/service.h"

#include <algorithm>
#include <limits>

namespace cohost::sim {

std::vector<double> SpeedupTable(const ServiceProfile& profile, int parallel) {
  std::vector<std::pair<int, double>> points = {{1, 1.0}};
  for (const auto& p : profile.batching) {
    if (p.first > 1) points.push_back(p);
  }
  std::vector<double> table(parallel + 1, 0);
  for (int b = 1; b <= parallel; ++b) {
    double s = points.back().second;  // flat after the last point
    for (size_t i = 1; i < points.size(); ++i) {
      if (b <= points[i].first) {
        const auto& lo = points[i - 1];
        const auto& hi = points[i];
        s = lo.second + (hi.second - lo.second) * (b - lo.first) / (hi.first - lo.first);
        break;
      }
    }
    table[b] = s;
  }
  return table;
}

double RequestWork(const ServiceProfile& p, int prompt_tokens, int output_tokens) {
  return prompt_tokens / p.prompt_tps + output_tokens / p.decode_tps;
}

double FirstTokenWork(const ServiceProfile& p, int prompt_tokens) {
  return prompt_tokens / p.prompt_tps + 1 / p.decode_tps;
}

double CopyServer::Rate() const {
  int b = active();
  return b == 0 ? 0 : (*speedup_)[b] / b;
}

void CopyServer::Start(const Pending& p) {
  finish_.push({v_ + p.work, p.request});
  first_token_.push({v_ + p.first_token_work, p.request});
}

void CopyServer::Add(int64_t request, double work, double first_token_work) {
  Pending p{request, work, first_token_work};
  if (active() < slots()) {
    Start(p);
  } else {
    queue_.push_back(p);
  }
}

void CopyServer::CompleteDue(double now, std::vector<int64_t>* finished) {
  (void)now;
  // Tolerance: the completion event was computed from this same clock, so only rounding is left.
  double limit = v_ * (1 + 1e-12) + 1e-9;
  while (!finish_.empty() && finish_.top().v <= limit) {
    finished->push_back(finish_.top().request);
    finish_.pop();
  }
  while (active() < slots() && !queue_.empty()) {
    Start(queue_.front());
    queue_.pop_front();
  }
}

double CopyServer::NextCompletion() const {
  if (finish_.empty()) return std::numeric_limits<double>::infinity();
  double rate = Rate();
  return last_t_ + std::max(0.0, finish_.top().v - v_) / rate;
}

}  // namespace cohost::sim
