#pragma once
/// TablePrinter: aligned text columns, like ipcs and ps print.

#include <iosfwd>
#include <string>
#include <vector>

namespace shmctl {

/// Collects rows, then prints them with every column as wide as its widest cell.
class TablePrinter {
 public:
  /// A table with these column headings.
  explicit TablePrinter(std::vector<std::string> headings);
  /// Adds a row; missing cells print empty, extra cells are ignored.
  void add_row(std::vector<std::string> cells);
  /// Prints the heading line and every row; no trailing spaces.
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;  ///< headings first, then the rows
};

}  // namespace shmctl
