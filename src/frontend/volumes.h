// Named volumes, docker's: `-v NAME:/path` mounts $HULL_STATE/volumes/NAME/_data, made on first
// use; `hull volume create|ls|inspect|rm|prune`. A volume outlives its containers and is
// removed only by `volume rm`/`prune`, never while a container (running or not) uses it.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frontend/store.h"

namespace hull::frontend {

struct VolumeInfo {
  std::string name, mountpoint, created;
  std::map<std::string, std::string> labels;
  nlohmann::ordered_json to_json() const;  // docker volume inspect's shape
};

class Volumes {
 public:
  explicit Volumes(const Env& env);
  // Makes the volume (a random 64-hex name when `name` is empty); an existing one is kept
  // as it is (docker's create is idempotent). `made` says whether it is new.
  VolumeInfo create(const std::string& name, const std::map<std::string, std::string>& labels,
                    bool* made = nullptr) const;
  VolumeInfo get(const std::string& name) const;  // throws "no such volume"
  std::vector<VolumeInfo> list() const;
  // The ids of the containers that use it.
  std::vector<std::string> users(const std::string& name) const;
  // Refuses a volume in use, naming the containers.
  void remove(const std::string& name) const;
  // Removes every volume no container uses; returns their names.
  std::vector<std::string> prune() const;

 private:
  Env env_;
  std::string dir_;
};

}  // namespace hull::frontend
