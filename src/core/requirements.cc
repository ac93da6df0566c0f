#include "core/requirements.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace cohost {

int64_t ToMilli(double value) { return std::llround(value * static_cast<double>(kMilliPerUnit)); }

std::string FormatMilli(int64_t milli) {
  std::string sign = milli < 0 ? "-" : "";
  int64_t abs = milli < 0 ? -milli : milli;
  std::string out = sign + std::to_string(abs / kMilliPerUnit);
  int64_t frac = abs % kMilliPerUnit;
  if (frac == 0) return out;
  std::string digits = std::to_string(frac);
  digits.insert(0, 3 - digits.size(), '0');
  while (digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

namespace {

std::string FormatDouble(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", value);
  return buf;
}

std::string Field(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  return std::string(prefix) + "." + std::string(name);
}

// A fractional amount (accelerators or cores): finite, within [0, max], and, when not zero, at
// least one thousandth, because amounts are kept in thousandths.
Status ValidateAmount(double value, double max, const std::string& field, const char* unit) {
  if (!std::isfinite(value) || value < 0) {
    return InvalidArgument(field, "must be a number of " + std::string(unit) + " >= 0");
  }
  if (value > max) {
    return InvalidArgument(
        field, "must be at most " + FormatDouble(max) + " (got " + FormatDouble(value) + ")");
  }
  if (value > 0 && ToMilli(value) == 0) {
    return InvalidArgument(field, "must be 0 or at least 0.001 (amounts are kept in thousandths)");
  }
  return Status::Ok();
}

}  // namespace

Status Requirements::Validate(std::string_view prefix) const {
  const std::string acc_field = Field(prefix, "accelerators");
  RETURN_IF_ERROR(ValidateAmount(accelerators, kMaxAccelerators, acc_field, "accelerators"));
  // Above one the copy takes whole devices; 1.5 accelerators has no meaning on real hardware.
  if (accelerators > 1 && std::fabs(accelerators - std::round(accelerators)) > 1e-9) {
    return InvalidArgument(acc_field, "must be a whole number when above 1 (got " +
                                          FormatDouble(accelerators) +
                                          "); use a value below 1 to share a device");
  }
  if (memory_mib < 0 || memory_mib > kMaxMemoryMib) {
    return InvalidArgument(Field(prefix, "memory_mb"), "must be a number of MiB between 0 and " +
                                                           std::to_string(kMaxMemoryMib) +
                                                           " (got " + std::to_string(memory_mib) +
                                                           ")");
  }
  RETURN_IF_ERROR(ValidateAmount(cpu_cores, kMaxCpuCores, Field(prefix, "cpu_cores"), "cores"));
  return Status::Ok();
}

int Requirements::device_count() const {
  const int64_t milli = accelerator_milli();
  if (milli == 0) return 0;
  if (milli <= kMilliPerUnit) return 1;
  return static_cast<int>(milli / kMilliPerUnit);
}

int64_t Requirements::share_milli_per_device() const {
  const int64_t milli = accelerator_milli();
  return milli >= kMilliPerUnit ? kMilliPerUnit : milli;
}

const char* PlacementStrategyName(PlacementStrategy strategy) {
  switch (strategy) {
    case PlacementStrategy::kBinpack:
      return "binpack";
    case PlacementStrategy::kSpread:
      return "spread";
  }
  return "unknown";
}

StatusOr<PlacementStrategy> ParsePlacementStrategy(std::string_view text, std::string_view field) {
  if (text == "binpack") return PlacementStrategy::kBinpack;
  if (text == "spread") return PlacementStrategy::kSpread;
  return InvalidArgument(std::string(field),
                         "must be \"binpack\" or \"spread\" (got \"" + std::string(text) + "\")");
}

}  // namespace cohost
