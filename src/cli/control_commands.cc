#include "cli/control_commands.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "net/http_client.h"

namespace cohost::cli {
namespace {

using json = nlohmann::json;

struct Common {
  std::string server = "127.0.0.1:8080";
  std::string output = "table";
};

struct Args {
  Common common;
  std::string name;
  std::string kind = "shared";
  std::string routing = "least_outstanding";
  std::string file;
  int copies = -1;
  std::string subject;
  int limit = 50;
};

void AddCommon(CLI::App* cmd, Common* c) {
  cmd->add_option("--server", c->server, "address of cohost serve")->capture_default_str();
  cmd->add_option("--output,-o", c->output, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
}

// Sends one request; prints the API's error and returns nullopt on failure.
std::optional<json> Call(const Common& c, const char* method, const std::string& target,
                         const std::string& body = {}) {
  auto addr = net::Address::Parse(c.server);
  if (!addr.ok()) {
    fprintf(stderr, "error: --server: %s\n", addr.status().message().c_str());
    return std::nullopt;
  }
  net::HttpClient client(*addr, std::chrono::seconds(120));
  auto r = client.Send(method, target, body);
  if (!r.ok()) {
    fprintf(stderr, "error: %s\n", r.status().message().c_str());
    return std::nullopt;
  }
  json j = json::parse(r->body, nullptr, false);
  if (r->status >= 400) {
    std::string msg = j.is_object() && j.contains("error") ? j["error"].value("message", r->body) : r->body;
    std::string param = j.is_object() && j.contains("error") && j["error"]["param"].is_string()
                            ? j["error"]["param"].get<std::string>() : "";
    fprintf(stderr, "error (%d)%s: %s\n", r->status, param.empty() ? "" : (" " + param).c_str(), msg.c_str());
    return std::nullopt;
  }
  return j;
}

std::optional<std::string> ReadSpec(const std::string& file) {
  std::stringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(file);
    if (!in) {
      fprintf(stderr, "error: --file: cannot read %s\n", file.c_str());
      return std::nullopt;
    }
    ss << in.rdbuf();
  }
  return ss.str();
}

std::string Num(const json& v) { return v.is_number_integer() ? std::to_string(v.get<int64_t>()) : v.dump(); }

void PrintEndpoints(const json& list) {
  printf("%-24s %-10s %s\n", "NAME", "KIND", "ROUTING");
  for (const auto& e : list) {
    printf("%-24s %-10s %s\n", e.value("name", "").c_str(), e.value("kind", "").c_str(), e.value("routing", "").c_str());
  }
}

void PrintComponents(const json& list) {
  printf("%-20s %-10s %6s %9s %-13s %s\n", "NAME", "ENDPOINT", "ACCEL", "MEMORY_MB", "COPIES", "MODEL");
  for (const auto& c : list) {
    const json& st = c.contains("status") ? c["status"] : json::object();
    std::string copies = Num(st.value("ready_copies", json(0))) + "/" + Num(st.value("desired_copies", json(0))) + " ready";
    printf("%-20s %-10s %6s %9s %-13s %s\n", c.value("name", "").c_str(), c.value("endpoint", "").c_str(),
           c["compute"]["accelerators"].dump().c_str(), Num(c["compute"]["memory_mb"]).c_str(), copies.c_str(),
           c["model"].value("uri", "").c_str());
  }
}

// "CopyFailed: 2 copies failed; ..." from status.condition, or "".
std::string Condition(const json& status) {
  if (!status.is_object() || !status.contains("condition") || !status["condition"].is_object()) return {};
  return status["condition"].value("reason", "") + ": " + status["condition"].value("message", "");
}

void PrintCopies(const json& c) {
  PrintComponents(json::array({c}));
  if (std::string why = Condition(c.value("status", json::object())); !why.empty()) printf("\ncondition: %s\n", why.c_str());
  printf("\n%-24s %-10s %s\n", "COPY", "STATE", "DEVICES");
  for (const auto& cp : c["status"].value("copies", json::array())) {
    std::string devices;
    for (const auto& d : cp.value("devices", json::array())) devices += (devices.empty() ? "" : ",") + d.get<std::string>();
    std::string note = cp.contains("load_progress") ? "  (" + cp["load_progress"].value("text", "") + ")"
                       : cp.contains("last_error")    ? "  (" + cp["last_error"].get<std::string>() + ")"
                                                      : "";
    printf("%-24s %-10s %s%s\n", cp.value("id", "").c_str(), cp.value("state", "").c_str(), devices.c_str(),
           note.c_str());
  }
}

// One line redrawn in place: "[#########           ] 45%  alpha-3  loaded 460 of 1028 MiB ...".
void DrawProgress(const json& copy) {
  const json& p = copy["load_progress"];
  int64_t total = p.value("total", int64_t{0});
  int64_t percent = total > 0 ? p.value("bytes", int64_t{0}) * 100 / total : 0;
  std::string bar(static_cast<size_t>(percent / 5), '#');
  bar.resize(20, ' ');
  fprintf(stderr, "\r[%s] %3d%%  %s  %s\033[K", bar.c_str(), static_cast<int>(percent),
          copy.value("id", "").c_str(), p.value("text", "").c_str());
  fflush(stderr);
}

// Polls the component until its ready copies reach the desired count; 0 when they do, 1 on a
// timeout or an error. Loading copies that report progress (streamed loads) get a bar.
// The latest placement or failure reason (status.condition) is shown when it changes; copies
// that failed (CopyFailed) end the wait at once: none are started again until the spec changes.
int WaitReady(const Common& c, const std::string& name, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  bool drew = false;
  std::string shown;  // the condition last printed
  while (std::chrono::steady_clock::now() < deadline) {
    auto j = Call(c, "GET", "/v1/inference-components/" + name);
    if (!j) return 1;
    const json& st = (*j)["status"];
    int ready = st.value("ready_copies", 0), desired = st.value("desired_copies", 0);
    if (ready >= desired && desired > 0) {
      if (drew) fprintf(stderr, "\n");
      printf("%s: %d of %d copies ready\n", name.c_str(), ready, desired);
      return 0;
    }
    if (std::string why = Condition(st); why != shown) {
      shown = why;
      if (!why.empty()) fprintf(stderr, "%s%s: %s\n", drew ? "\n" : "", name.c_str(), why.c_str());
      drew = false;
      if (st["condition"].value("reason", "") == "CopyFailed") {
        fprintf(stderr, "error: %s will not get its copies ready: they failed (fix the model or spec, then update it)\n",
                name.c_str());
        return 1;
      }
    }
    for (const auto& cp : st.value("copies", json::array())) {
      if (cp.contains("load_progress")) {
        DrawProgress(cp);
        drew = true;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // a poll period, with a deadline
  }
  if (drew) fprintf(stderr, "\n");
  fprintf(stderr, "error: %s has not got its copies ready within %d s%s\n", name.c_str(), timeout_s,
          shown.empty() ? "" : ("; latest reason: " + shown).c_str());
  return 1;
}

int Emit(const Args& a, const std::optional<json>& j, void (*table)(const json&)) {
  if (!j) return 1;
  if (a.common.output == "json") {
    printf("%s\n", j->dump(2).c_str());
  } else {
    table(*j);
  }
  return 0;
}

void AddEndpointCommands(CLI::App& app) {
  CLI::App* ep = app.add_subcommand("endpoint", "Manage endpoints on a running cohost serve");
  ep->require_subcommand(1);
  auto a = std::make_shared<Args>();
  CLI::App* create = ep->add_subcommand("create", "Create an endpoint");
  create->add_option("name", a->name, "DNS-like name")->required();
  create->add_option("--kind", a->kind, "shared or dedicated")->capture_default_str();
  create->add_option("--routing", a->routing, "least_outstanding or random")->capture_default_str();
  AddCommon(create, &a->common);
  create->callback([a] {
    json body = {{"name", a->name}, {"kind", a->kind}, {"routing", a->routing}};
    auto j = Call(a->common, "POST", "/v1/endpoints", body.dump());
    throw CLI::RuntimeError(Emit(*a, j, [](const json& e) { PrintEndpoints(json::array({e})); }));
  });
  CLI::App* list = ep->add_subcommand("list", "List endpoints");
  AddCommon(list, &a->common);
  list->callback([a] {
    auto j = Call(a->common, "GET", "/v1/endpoints");
    throw CLI::RuntimeError(Emit(*a, j, [](const json& r) { PrintEndpoints(r["endpoints"]); }));
  });
  CLI::App* del = ep->add_subcommand("delete", "Delete an endpoint (it must have no components)");
  del->add_option("name", a->name)->required();
  AddCommon(del, &a->common);
  del->callback([a] {
    auto j = Call(a->common, "DELETE", "/v1/endpoints/" + a->name);
    throw CLI::RuntimeError(Emit(*a, j, [](const json& r) { printf("deleted %s\n", r.value("name", "").c_str()); }));
  });
}

void AddComponentCommands(CLI::App& app) {
  CLI::App* ic = app.add_subcommand("component", "Manage inference components on a running cohost serve");
  ic->require_subcommand(1);
  auto a = std::make_shared<Args>();
  CLI::App* create = ic->add_subcommand("create", "Create a component from a JSON spec (see docs/serve.md)");
  create->add_option("--file,-f", a->file, "spec file, or - for standard input")->required();
  AddCommon(create, &a->common);
  create->callback([a] {
    auto spec = ReadSpec(a->file);
    if (!spec) throw CLI::RuntimeError(2);
    auto j = Call(a->common, "POST", "/v1/inference-components", *spec);
    throw CLI::RuntimeError(Emit(*a, j, [](const json& c) { PrintComponents(json::array({c})); }));
  });
  CLI::App* list = ic->add_subcommand("list", "List components with their copies");
  AddCommon(list, &a->common);
  list->callback([a] {
    auto j = Call(a->common, "GET", "/v1/inference-components");
    throw CLI::RuntimeError(Emit(*a, j, [](const json& r) { PrintComponents(r["inference_components"]); }));
  });
  CLI::App* describe = ic->add_subcommand("describe", "A component's spec and copies");
  describe->add_option("name", a->name)->required();
  AddCommon(describe, &a->common);
  describe->callback([a] {
    auto j = Call(a->common, "GET", "/v1/inference-components/" + a->name);
    throw CLI::RuntimeError(Emit(*a, j, PrintCopies));
  });
  CLI::App* update = ic->add_subcommand("update", "Change a component: --copies N, or a JSON patch --file");
  update->add_option("name", a->name)->required();
  CLI::Option* copies = update->add_option("--copies", a->copies, "desired copy count (0 or more)");
  update->add_option("--file,-f", a->file, "JSON patch file, or -");
  AddCommon(update, &a->common);
  update->callback([a, copies] {
    if (copies->count() > 0 && a->copies < 0) {
      fprintf(stderr, "error: --copies: must be 0 or more, got %d\n", a->copies);
      throw CLI::RuntimeError(2);
    }
    json patch = json::object();
    if (!a->file.empty()) {
      auto spec = ReadSpec(a->file);
      if (!spec) throw CLI::RuntimeError(2);
      patch = json::parse(*spec, nullptr, false);
      if (!patch.is_object()) {
        fprintf(stderr, "error: --file: not a JSON object\n");
        throw CLI::RuntimeError(2);
      }
    }
    if (copies->count() > 0) patch["copies"]["initial"] = a->copies;
    if (patch.empty()) {
      fprintf(stderr, "error: nothing to change: give --copies or --file\n");
      throw CLI::RuntimeError(2);
    }
    auto j = Call(a->common, "PATCH", "/v1/inference-components/" + a->name, patch.dump());
    throw CLI::RuntimeError(Emit(*a, j, [](const json& c) { PrintComponents(json::array({c})); }));
  });
  CLI::App* wait = ic->add_subcommand("wait", "Wait until a component has its desired ready copies, with a load progress bar");
  wait->add_option("name", a->name)->required();
  wait->add_option("--timeout", a->limit, "seconds to wait (exit 1 past it)")->capture_default_str();
  AddCommon(wait, &a->common);
  wait->callback([a] { throw CLI::RuntimeError(WaitReady(a->common, a->name, a->limit)); });
  CLI::App* del = ic->add_subcommand("delete", "Delete a component (its copies drain)");
  del->add_option("name", a->name)->required();
  AddCommon(del, &a->common);
  del->callback([a] {
    auto j = Call(a->common, "DELETE", "/v1/inference-components/" + a->name);
    throw CLI::RuntimeError(Emit(*a, j, [](const json& r) { printf("deleted %s\n", r.value("name", "").c_str()); }));
  });
}

void AddEventsCommand(CLI::App& app) {
  auto a = std::make_shared<Args>();
  CLI::App* ev = app.add_subcommand("events", "Recent events of a running cohost serve");
  ev->add_option("--subject", a->subject, "only events about this endpoint, component (with its copies') or copy");
  ev->add_option("--limit", a->limit, "at most this many (newest)")->capture_default_str();
  AddCommon(ev, &a->common);
  ev->callback([a] {
    std::string target = "/v1/events?limit=" + std::to_string(a->limit);
    if (!a->subject.empty()) target += "&subject=" + a->subject;
    auto j = Call(a->common, "GET", target);
    throw CLI::RuntimeError(Emit(*a, j, [](const json& r) {
      printf("%-6s %-24s %-16s %s\n", "SEQ", "SUBJECT", "REASON", "MESSAGE");
      for (const auto& e : r["events"]) {
        printf("%-6s %-24s %-16s %s\n", Num(e["sequence"]).c_str(), e.value("name", "").c_str(),
               e.value("reason", "").c_str(), e.value("message", "").c_str());
      }
    }));
  });
}

}  // namespace

void AddControlCommands(CLI::App& app) {
  AddEndpointCommands(app);
  AddComponentCommands(app);
  AddEventsCommand(app);
}

}  // namespace cohost::cli
