// The curves of recipe-sweep points on one plot each (docs/recipe-sweep.md): classifier-FID (log
// scale) and conditional accuracy against minutes of training, one line per point, from the
// curve.tsv files bench/sweep_recipe.sh writes.
// Usage: plot_sweep OUT_PREFIX CURVE.tsv [CURVE.tsv ...]  ->  OUT_PREFIX_fid.png, OUT_PREFIX_accuracy.png
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "libbiggan/util/error.h"
#include "libbiggan/util/plots.h"

using namespace biggan;

namespace {

struct Curve {
  std::string name;
  std::vector<double> itr, minutes, accuracy, fid;
};

// name, itr, minutes, accuracy, weakest_class, classifier_FID, FID/floor: one header line, then a
// line per test.
Curve read_curve(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot be read");
  Curve c;
  std::string line;
  if (!std::getline(in, line) || line.rfind("name\titr\tminutes", 0) != 0)
    throw Error(path + ": not a sweep curve (the header of bench/sweep_recipe.sh's curve.tsv is missing)");
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string name;
    double itr, minutes, accuracy, weakest, fid;
    if (!(std::getline(fields, name, '\t') >> itr >> minutes >> accuracy >> weakest >> fid) ||
        !std::isfinite(minutes))
      throw Error(path + ": line " + std::to_string(n) + " is not name, itr, minutes, accuracy, weakest, FID");
    c.name = name;
    c.itr.push_back(itr);
    c.minutes.push_back(minutes);
    c.accuracy.push_back(accuracy);
    c.fid.push_back(fid);
  }
  if (c.minutes.empty()) throw Error(path + ": no tests in the curve");
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  // --by-iteration: against iterations, for points trained on different days (a point's scores
  // per iteration are exact, its minutes only as steady as the machine).
  const bool by_iteration = argc > 1 && std::string(argv[1]) == "--by-iteration";
  const int first = by_iteration ? 2 : 1;
  if (argc < first + 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    const bool asked = argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h");
    std::fprintf(asked ? stdout : stderr,
                 "usage: plot_sweep [--by-iteration] OUT_PREFIX CURVE.tsv [CURVE.tsv ...]\n"
                 "Draws OUT_PREFIX_fid.png (classifier-FID, log scale) and OUT_PREFIX_accuracy.png against\n"
                 "minutes of training (or iterations), one line per sweep point (bench/sweep_recipe.sh's curve.tsv).\n");
    return asked ? 0 : 2;
  }
  try {
    std::vector<PlotSeries> fid, accuracy;
    for (int i = first + 1; i < argc; ++i) {
      const auto c = read_curve(argv[i]);
      const auto& x = by_iteration ? c.itr : c.minutes;
      fid.push_back({c.name, x, c.fid});
      accuracy.push_back({c.name, x, c.accuracy});
    }
    const std::string prefix = argv[first];
    PlotOptions o;
    o.x_label = by_iteration ? "iteration" : "minutes of training";
    o.title = "classifier-FID of G_ema's samples (log scale; lower is better)";
    o.y_label = "classifier-FID";
    o.log_y = true;
    save_plot(prefix + "_fid.png", fid, o);
    o.title = "conditional accuracy of G_ema's samples";
    o.y_label = "accuracy";
    o.log_y = false;
    save_plot(prefix + "_accuracy.png", accuracy, o);
    std::printf("%s_fid.png\n%s_accuracy.png\n", prefix.c_str(), prefix.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plot_sweep: %s\n", e.what());
    return 1;
  }
  return 0;
}
