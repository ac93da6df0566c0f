// The right-sizer's outputs: a readable table, JSON, and an SVG chart.
//
// Every figure is labelled: "measured on <device>" for the sweep, "dry run" for memory, and
// "projected" for catalog device types. The JSON carries the same content with the labels as
// fields ("kind": "measured" / "projected").
// Thread safety: pure functions of the report.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "profile/profiler.h"

namespace cohost::profile {

std::string RenderTable(const ProfileReport& report);
nlohmann::json ReportJson(const ProfileReport& report);
// Three panels: latency (TTFT and ITL p50/p99) against concurrency with the objective lines,
// tokens/s against concurrency, and projected cost per million tokens per device type.
std::string RenderSvg(const ProfileReport& report);

}  // namespace cohost::profile
