// shmclient-consumer: a program written by a libshmclient user, built out of tree against an
// installed shmd. It creates a Value and an Array, attaches the Array a second time through a
// separate connection, works on both and prints one line that the install test checks.
//   shmclient-consumer SOCKET TAG   prints "TAG value=42 sum=10 segments=2"
#include <iostream>
#include <numeric>
#include <string>

#include <shm/shm.hpp>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: shmclient-consumer SOCKET TAG\n";
    return 2;
  }
  const std::string tag = argv[2];
  try {
    shm::Client client(argv[1]);
    auto value = client.create_value<int>(tag + ".value", 40);
    value.fetch_add(1);
    {
      auto guard = value.lock();  // the lock's calls live in the shared library too
      ++value.get();
    }

    auto created = client.create_array<double>(tag + ".array", 4);
    shm::Client other(argv[1]);
    auto attached = other.attach_array<double>(tag + ".array");
    std::iota(attached.begin(), attached.end(), 1.0);  // 1 2 3 4, seen through the other mapping

    std::size_t mine = 0;
    for (const auto& info : client.list()) mine += info.name.starts_with(tag + ".") ? 1 : 0;
    std::cout << tag << " value=" << value.load() << " sum=" << std::accumulate(created.begin(), created.end(), 0.0)
              << " segments=" << mine << '\n';
    client.remove(tag + ".value");
    client.remove(tag + ".array");
  } catch (const shm::Error& e) {
    std::cerr << tag << ": " << e.what() << '\n';
    return 1;
  }
  return 0;
}
