#include "table_printer.hpp"

#include <algorithm>
#include <ostream>
#include <utility>

namespace shmctl {

TablePrinter::TablePrinter(std::vector<std::string> headings) { rows_.push_back(std::move(headings)); }

void TablePrinter::add_row(std::vector<std::string> cells) {
  cells.resize(rows_.front().size());
  rows_.push_back(std::move(cells));
}

void TablePrinter::print(std::ostream& out) const {
  std::vector<std::size_t> widths(rows_.front().size(), 0);
  for (const auto& row : rows_)
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());

  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i != 0) line += "  ";
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size(), ' ');
    }
    out << line << '\n';
  }
}

}  // namespace shmctl
