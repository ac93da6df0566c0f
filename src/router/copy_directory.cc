#include "router/copy_directory.h"

namespace cohost::router {

std::string ComponentSummary::state() const {
  if (ready_copies > 0) return "ready";
  if (coming_copies > 0) return "loading";
  return "stopped";
}

void StaticCopyDirectory::Set(const std::string& component, ComponentRoute route) {
  auto snapshot = std::make_shared<const ComponentRoute>(std::move(route));
  std::lock_guard<std::mutex> l(mu_);
  routes_[component] = std::move(snapshot);
}

void StaticCopyDirectory::Remove(const std::string& component) {
  std::lock_guard<std::mutex> l(mu_);
  routes_.erase(component);
}

std::shared_ptr<const ComponentRoute> StaticCopyDirectory::Find(std::string_view component) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = routes_.find(component);
  return it == routes_.end() ? nullptr : it->second;
}

std::vector<ComponentSummary> StaticCopyDirectory::List() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ComponentSummary> out;
  out.reserve(routes_.size());
  for (const auto& [name, route] : routes_) {
    out.push_back(ComponentSummary{name, static_cast<int>(route->ready.size()), route->coming});
  }
  return out;
}

}  // namespace cohost::router
