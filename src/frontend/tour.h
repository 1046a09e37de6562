// `hull tour`: the tutorial's exercises, run live with hull, each with a few lines of
// explanation, what the container says, and the evidence from the kernel (/proc, the cgroup
// files) that it is so. `hull tour pid` runs one step; --json gives every step's evidence as
// data (what the tests check). Without a terminal it prints no colours and never waits.
#pragma once

#include <string>
#include <vector>

#include "frontend/store.h"

namespace hull::frontend {

struct TourOptions {
  std::vector<std::string> steps;  // empty: all of them, in order
  bool json = false;
  bool color = false;
  bool pause = false;  // wait for Enter between steps (a person at a terminal)
};

// The step names, in order: pid, mount, uts, ipc, user, cpu, memory, blkio, network.
std::vector<std::string> tour_step_names();

// Runs the steps; returns true when every one showed what it should.
bool run_tour(const Env& env, const TourOptions& options);

}  // namespace hull::frontend
