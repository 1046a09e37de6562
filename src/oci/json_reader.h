// Typed access to nlohmann::json that names the JSON path of every error:
// "linux.namespaces[2].type: expected a string, got number 3".
// null is treated as absent, as Go's encoding/json does for the spec's pointer fields.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace hull::oci {

using json = nlohmann::json;

class Node {
 public:
  Node(const json* j, std::string path) : j_(j), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  bool present() const { return j_ != nullptr && !j_->is_null(); }
  const json& raw() const { return *j_; }

  Node operator[](const char* key) const;
  Node at(size_t index) const;
  size_t size() const;  // of an array; 0 when absent

  [[noreturn]] void error(std::string_view what) const;

  bool is_object() const;
  void expect_object() const;
  void expect_array() const;

  std::optional<std::string> opt_string() const;
  std::string string_or(std::string fallback) const { return opt_string().value_or(std::move(fallback)); }
  std::optional<bool> opt_bool() const;
  bool bool_or(bool fallback) const { return opt_bool().value_or(fallback); }
  std::vector<std::string> string_list() const;
  std::map<std::string, std::string> string_map() const;
  std::vector<std::string> keys() const;

  template <typename T>
  std::optional<T> opt_int() const {
    if (!present()) return std::nullopt;
    if (j_->is_number_integer()) {
      if constexpr (std::is_signed_v<T>) {
        if (j_->is_number_unsigned()) {
          auto v = j_->get<uint64_t>();
          if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) range_error();
          return static_cast<T>(v);
        }
        auto v = j_->get<int64_t>();
        if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
            v > static_cast<int64_t>(std::numeric_limits<T>::max()))
          range_error();
        return static_cast<T>(v);
      } else {
        if (!j_->is_number_unsigned()) {
          // nlohmann stores non-negative literals as unsigned; a signed one here is negative.
          range_error();
        }
        auto v = j_->get<uint64_t>();
        if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) range_error();
        return static_cast<T>(v);
      }
    }
    if (j_->is_number_float()) {
      double d = j_->get<double>();
      // Some engines write integral values as floats (1e+09); accept them when exact. The
      // conversion is only defined inside the target's range: outside [-2^63, 2^64) (or NaN)
      // no 64-bit integer can hold it.
      constexpr double kTwo63 = 9223372036854775808.0;
      if (!(d >= -kTwo63 && d < 2 * kTwo63)) range_error();
      json as_int;
      if (d < kTwo63) {
        auto i = static_cast<int64_t>(d);
        if (static_cast<double>(i) != d) type_error("an integer");
        as_int = i;
        if constexpr (std::is_unsigned_v<T>) {
          if (i < 0) range_error();
          as_int = static_cast<uint64_t>(i);
        }
      } else {
        auto u = static_cast<uint64_t>(d);  // integral already: every double >= 2^53 is
        as_int = u;
      }
      return Node(&as_int, path_).opt_int<T>();
    }
    type_error("an integer");
  }
  template <typename T>
  T int_or(T fallback) const {
    return opt_int<T>().value_or(fallback);
  }

 private:
  [[noreturn]] void type_error(std::string_view expected) const;
  [[noreturn]] void range_error() const;
  void check_key(const std::string& key) const;
  const json* j_;
  std::string path_;
};

}  // namespace hull::oci
