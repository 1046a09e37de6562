// The --format renderer (frontend/template.h) against what Go's text/template prints.
#include <gtest/gtest.h>

#include "frontend/logs.h"
#include "frontend/template.h"
#include "util/error.h"

namespace hull::frontend {
namespace {

using ojson = nlohmann::ordered_json;

const ojson kData = ojson::parse(R"({
  "Id": "abc", "State": {"Pid": 42, "Running": true, "Status": "running", "Ratio": 0.5},
  "Config": {"Cmd": ["sleep", "600"], "Labels": {"tier": "web", "a": "b"}, "Entrypoint": null},
  "Mounts": [{"Destination": "/data", "RW": false}, {"Destination": "/x", "RW": true}],
  "Empty": [], "Zero": 0
})");

std::string render(const std::string& t) {
  return Template("--format", t).render(kData);
}

std::string error_of(const std::string& t) {
  try {
    render(t);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Template, FieldsAndGoFormatting) {
  EXPECT_EQ(render("{{.State.Pid}}"), "42");
  EXPECT_EQ(render("pid={{ .State.Pid }} {{.State.Running}} {{.State.Ratio}}"), "pid=42 true 0.5");
  EXPECT_EQ(render("{{.Config.Cmd}}"), "[sleep 600]");
  EXPECT_EQ(render("{{.Config.Labels}}"), "map[a:b tier:web]");
  EXPECT_EQ(render("{{.Config.Entrypoint}}"), "<no value>");
  EXPECT_EQ(render("{{.Config.Entrypoint.X}}"), "<no value>");
  EXPECT_EQ(render("a\\tb\\nc"), "a\tb\nc");
  EXPECT_EQ(render("{{.}}").substr(0, 4), "map[");
}

TEST(Template, Functions) {
  EXPECT_EQ(render("{{json .Config.Cmd}}"), R"(["sleep","600"])");
  EXPECT_EQ(render("{{.Config.Cmd | json}}"), R"(["sleep","600"])");
  EXPECT_EQ(render("{{upper .State.Status}} {{lower \"AB\"}} {{len .Mounts}}"), "RUNNING ab 2");
  EXPECT_EQ(render("{{join .Config.Cmd \",\"}}"), "sleep,600");
  EXPECT_EQ(render("{{index .Config.Labels \"tier\"}} {{index .Config.Cmd 1}}"), "web 600");
  EXPECT_EQ(render("{{index .Config.Labels \"nope\"}}"), "<no value>");
}

TEST(Template, RangeIfElseTrim) {
  EXPECT_EQ(render("{{range .Mounts}}{{.Destination}}={{.RW}};{{end}}"), "/data=false;/x=true;");
  EXPECT_EQ(render("{{range .Empty}}x{{else}}none{{end}}"), "none");
  EXPECT_EQ(render("{{if .State.Running}}up{{else}}down{{end}}"), "up");
  EXPECT_EQ(render("{{if .Zero}}y{{else}}n{{end}}{{if .Empty}}y{{end}}"), "n");
  EXPECT_EQ(render("a  {{- .Id -}}  b"), "aabcb");
  EXPECT_EQ(render("{{range .Mounts}}{{if .RW}}{{.Destination}}{{end}}{{end}}"), "/x");
}

TEST(Template, ErrorsNameWhatIsWrong) {
  EXPECT_EQ(error_of("{{.Nope}}"),
            "--format: {{.Nope}}: no field Nope in . (there are: Id, State, Config, Mounts, Empty, "
            "Zero)");
  EXPECT_EQ(error_of("{{.State.Pid.X}}"),
            "--format: {{.State.Pid.X}}: .State.Pid is 42, which has no field X");
  EXPECT_EQ(error_of("{{.Id"), "--format: {{ at 0 is never closed by }}");
  EXPECT_EQ(error_of("{{if .Id}}x"), "--format: {{if .Id}} has no {{end}}");
  EXPECT_EQ(error_of("{{end}}"), "--format: {{end}} without range or if");
  EXPECT_EQ(error_of("{{frob .Id}}"),
            "--format: {{frob .Id}}: no function \"frob\" (there are: json, upper, lower, len, "
            "join, index)");
  EXPECT_EQ(error_of("{{json}}"), "--format: {{json}}: json wants 1 argument, not 0");
  EXPECT_EQ(error_of("{{index .Config.Cmd 5}}"),
            "--format: {{index .Config.Cmd 5}}: index 5 out of range (length 2)");
}

TEST(Template, TableHeader) {
  Template t("--format", "table {{.ID}}\\t{{.Names}}\\t{{upper .Status}}");
  EXPECT_TRUE(t.is_table());
  EXPECT_EQ(t.header({{"ID", "CONTAINER ID"}}), "CONTAINER ID\tNAMES\tSTATUS");
  EXPECT_FALSE(Template("--format", "{{.ID}}").is_table());
}

TEST(LogTime, DockerForms) {
  EXPECT_DOUBLE_EQ(parse_log_time("--since", "2013-01-02T13:23:37Z"), 1357133017);
  EXPECT_DOUBLE_EQ(parse_log_time("--since", "2013-01-02T13:23:37.5Z"), 1357133017.5);
  EXPECT_DOUBLE_EQ(parse_log_time("--since", "2013-01-02"), 1357084800);
  EXPECT_DOUBLE_EQ(parse_log_time("--since", "1700000000.25"), 1700000000.25);
  double back = parse_log_time("--since", "1h30m");
  EXPECT_GT(back, 0);
  EXPECT_NEAR(parse_log_time("--since", "90m"), back, 5);
  EXPECT_THROW(parse_log_time("--since", "yesterday"), Error);
  EXPECT_THROW(parse_log_time("--since", "5x"), Error);
}

TEST(Logs, ParseJsonLinesAndOldRawOnes) {
  auto e = parse_log(
      "{\"log\":\"out\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-01T00:00:00.000000001Z\"}\n"
      "{\"log\":\"err\\n\",\"stream\":\"stderr\",\"time\":\"2026-01-01T00:00:00.000000002Z\"}\n"
      "raw line\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].text, "out\n");
  EXPECT_FALSE(e[0].stderr_stream);
  EXPECT_TRUE(e[1].stderr_stream);
  EXPECT_EQ(e[1].time, "2026-01-01T00:00:00.000000002Z");
  EXPECT_EQ(e[2].text, "raw line\n");
  EXPECT_TRUE(e[2].time.empty());
}

}  // namespace
}  // namespace hull::frontend
