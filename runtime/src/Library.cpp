//===- Library.cpp - Loading a compiled model's shared library --*- C++ -*-===//
//
// The ELF check reads the file header and the program headers and requires
// every loadable segment, the dynamic segment and the section header table
// to lie inside the file, which is what a truncated copy violates.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/Library.h"

#include "coil/abi.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace coil::runtime {

namespace {

/// Closes a file descriptor when it goes out of scope.
struct FileCloser {
  int fd;
  ~FileCloser() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Reads exactly `size` bytes at `offset`; false on a short read or error.
bool readAt(int fd, void *buffer, size_t size, uint64_t offset) {
  auto *bytes = static_cast<char *>(buffer);
  while (size > 0) {
    ssize_t n = ::pread(fd, bytes, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    bytes += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

/// True if [offset, offset + size) lies within a file of `fileSize` bytes.
bool within(uint64_t offset, uint64_t size, uint64_t fileSize) {
  return offset <= fileSize && size <= fileSize - offset;
}

#if defined(__x86_64__)
constexpr uint16_t hostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t hostMachine = EM_AARCH64;
#else
constexpr uint16_t hostMachine = EM_NONE;
#endif

/// Checks the content checksum (coil/abi.h) of the ELF file open as `fd`,
/// whose header is `header`: finds the section COIL_MODEL_CHECKSUM_SECTION
/// through the section-name table and compares its value with the checksum
/// of the whole file read with those 8 bytes as zero. `bad` makes the error.
template <typename Bad>
Status checkChecksum(int fd, const Elf64_Ehdr &header, uint64_t fileSize,
                     const Bad &bad) {
  const char *missing = "no content checksum (the " COIL_MODEL_CHECKSUM_SECTION
                        " section coilc writes)";
  if (header.e_shoff == 0 || header.e_shentsize != sizeof(Elf64_Shdr) ||
      header.e_shstrndx >= header.e_shnum)
    return bad(missing);
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  if (!readAt(fd, sections.data(), sections.size() * sizeof(Elf64_Shdr),
              header.e_shoff))
    return bad("cannot read the ELF section headers");
  const Elf64_Shdr &names = sections[header.e_shstrndx];
  constexpr uint64_t maxNames = uint64_t(1) << 20;
  if (names.sh_size > maxNames ||
      !within(names.sh_offset, names.sh_size, fileSize))
    return bad("malformed ELF section-name table");
  std::vector<char> table(names.sh_size + 1, '\0');
  if (!readAt(fd, table.data(), names.sh_size, names.sh_offset))
    return bad("cannot read the ELF section-name table");
  const Elf64_Shdr *checksum = nullptr;
  for (const Elf64_Shdr &section : sections)
    if (section.sh_name < names.sh_size &&
        std::strcmp(table.data() + section.sh_name,
                    COIL_MODEL_CHECKSUM_SECTION) == 0)
      checksum = &section;
  if (!checksum || checksum->sh_type != SHT_PROGBITS ||
      checksum->sh_size != sizeof(uint64_t) ||
      !within(checksum->sh_offset, sizeof(uint64_t), fileSize))
    return bad(missing);

  uint64_t hash = COIL_MODEL_CHECKSUM_SEED;
  uint64_t stored = 0;
  std::vector<unsigned char> chunk(1 << 16);
  for (uint64_t offset = 0; offset < fileSize;) {
    size_t size = static_cast<size_t>(
        std::min<uint64_t>(chunk.size(), fileSize - offset));
    if (!readAt(fd, chunk.data(), size, offset))
      return bad("cannot read the file to check its content checksum");
    // The checksum's own bytes count as zero.
    for (uint64_t i = 0; i < sizeof(uint64_t); ++i) {
      uint64_t at = checksum->sh_offset + i;
      if (at >= offset && at < offset + size) {
        stored |= uint64_t(chunk[at - offset]) << (8 * i);
        chunk[at - offset] = 0;
      }
    }
    hash = coil_abi_checksum(hash, chunk.data(), size);
    offset += size;
  }
  if (hash != stored)
    return bad("damaged: its content checksum does not match (recompile it "
               "with coilc)");
  return Status::ok();
}

/// Checks that `path` is a complete 64-bit little-endian shared library for
/// this host, whose content checksum matches.
Status checkElf(const std::string &path) {
  auto bad = [&](const std::string &problem) {
    return Status::error(COIL_BAD_MODEL, path + ": " + problem);
  };
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    int err = errno;
    return Status::error(err == ENOENT || err == ENOTDIR ? COIL_NOT_FOUND
                                                         : COIL_IO_ERROR,
                         path + ": " + std::strerror(err));
  }
  if (!S_ISREG(info.st_mode))
    return bad("not a regular file");
  FileCloser file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0)
    return Status::error(COIL_IO_ERROR, path + ": " + std::strerror(errno));
  uint64_t fileSize = static_cast<uint64_t>(info.st_size);

  Elf64_Ehdr header;
  if (fileSize < SELFMAG || !readAt(file.fd, &header, SELFMAG, 0) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return bad("not a shared library (no ELF magic)");
  if (fileSize < sizeof(header) || !readAt(file.fd, &header, sizeof(header), 0))
    return bad("truncated: the file ends inside the ELF header");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB)
    return bad("not a 64-bit little-endian ELF file");
  if (header.e_type != ET_DYN)
    return bad("not a shared library (ELF type " +
               std::to_string(header.e_type) + ")");
  if (hostMachine != EM_NONE && header.e_machine != hostMachine)
    return bad("built for another machine (ELF machine " +
               std::to_string(header.e_machine) + ")");
  if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0)
    return bad("malformed ELF program header table");
  uint64_t phSize = uint64_t(header.e_phnum) * sizeof(Elf64_Phdr);
  if (!within(header.e_phoff, phSize, fileSize))
    return bad("truncated: the program header table ends past the end of the "
               "file");
  if (header.e_shoff != 0 &&
      !within(header.e_shoff, uint64_t(header.e_shnum) * header.e_shentsize,
              fileSize))
    return bad("truncated: the section header table ends past the end of the "
               "file (" +
               std::to_string(fileSize) + " bytes)");

  std::vector<Elf64_Phdr> segments(header.e_phnum);
  if (!readAt(file.fd, segments.data(), phSize, header.e_phoff))
    return Status::error(COIL_IO_ERROR,
                         path + ": cannot read the ELF program headers");
  for (size_t i = 0; i < segments.size(); ++i) {
    const Elf64_Phdr &segment = segments[i];
    if (segment.p_type != PT_LOAD && segment.p_type != PT_DYNAMIC)
      continue;
    if (!within(segment.p_offset, segment.p_filesz, fileSize))
      return bad("truncated: segment " + std::to_string(i) + " ends at byte " +
                 std::to_string(segment.p_offset + segment.p_filesz) +
                 " but the file has " + std::to_string(fileSize));
  }
  return checkChecksum(file.fd, header, fileSize, bad);
}

} // namespace

Status Library::open(const std::string &path, std::unique_ptr<Library> &out) {
  out.reset();
  if (path.empty())
    return Status::error(COIL_INVALID_ARGUMENT, "empty model path");
  // dlopen searches the library path for a name without a slash.
  std::string loadPath =
      path.find('/') == std::string::npos ? "./" + path : path;
  if (Status status = checkElf(loadPath); !status.isOk())
    return status;
  void *handle = ::dlopen(loadPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *reason = ::dlerror();
    return Status::error(
        COIL_BAD_MODEL,
        path + ": cannot load: " + (reason ? reason : "unknown dlopen error"));
  }
  try {
    out.reset(new Library(handle, path));
  } catch (...) {
    ::dlclose(handle);
    throw;
  }
  return Status::ok();
}

Library::~Library() { ::dlclose(handle); }

void *Library::symbol(const std::string &name) const {
  return ::dlsym(handle, name.c_str());
}

} // namespace coil::runtime
