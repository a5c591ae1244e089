#include "io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/checksum.h"
#include "io/fault_point.h"
#include "io/json.h"
#include "tensor/error.h"

namespace effnet {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // safetensors' own limit
// Metadata key of the CRC-32 of the data section, written by effnet and
// checked on reading when present (files from other writers have none).
const char* const kDataCrcKey = "effnet.data_crc32";

std::string crc_hex(uint32_t crc) {
    char b[16];
    std::snprintf(b, sizeof b, "%08x", crc);
    return b;
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
    throw IoError(path + ": not a valid safetensors file: " + what);
}

bool dtype_from_string(const std::string& s, DType& out) {
    if (s == "F32")
        out = DType::FLOAT32;
    else if (s == "F16")
        out = DType::FLOAT16;
    else if (s == "BF16")
        out = DType::BFLOAT16;
    else if (s == "I32")
        out = DType::INT32;
    else if (s == "I64")
        out = DType::INT64;
    else
        return false;
    return true;
}

uint64_t checked_integer(const json::Value& v, const std::string& path, const std::string& what) {
    if (!v.is_integer() || v.text[0] == '-' || v.text.size() > 19)
        bad(path, what + " is not a non-negative integer");
    return std::stoull(v.text);
}

}  // namespace

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
    for (auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

SafetensorsFile parse_safetensors(const std::vector<uint8_t>& file, const std::string& path) {
    if (file.size() < 8)
        bad(path,
            "shorter than the 8-byte header length (" + std::to_string(file.size()) + " bytes)");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
    if (n > kMaxHeaderBytes) bad(path, "header length " + std::to_string(n) + " exceeds 100 MiB");
    if (n > file.size() - 8)
        bad(path, "header length " + std::to_string(n) + " runs past the end of the file (" +
                      std::to_string(file.size()) + " bytes; truncated?)");
    const std::string header(reinterpret_cast<const char*>(file.data()) + 8, n);
    json::Value root;
    try {
        root = json::parse(header);
    } catch (const IoError& e) {
        bad(path, std::string("header: ") + e.what());
    }
    if (root.type != json::Value::Type::OBJECT) bad(path, "header is not a JSON object");
    const uint64_t data_size = file.size() - 8 - n;
    const uint8_t* data = file.data() + 8 + n;

    SafetensorsFile out;
    std::vector<std::pair<uint64_t, uint64_t>> regions;
    for (auto& [name, v] : root.members) {
        if (name == "__metadata__") {
            if (v.type != json::Value::Type::OBJECT) bad(path, "__metadata__ is not an object");
            for (auto& [k, mv] : v.members) {
                if (mv.type != json::Value::Type::STRING)
                    bad(path, "__metadata__." + k + " is not a string");
                out.metadata[k] = mv.text;
            }
            continue;
        }
        const std::string where = "tensor '" + name + "'";
        if (v.type != json::Value::Type::OBJECT) bad(path, where + " is not an object");
        const json::Value* dt = v.find("dtype");
        const json::Value* sh = v.find("shape");
        const json::Value* off = v.find("data_offsets");
        if (!dt || !sh || !off) bad(path, where + " lacks dtype, shape or data_offsets");
        SafetensorsEntry e;
        e.name = name;
        if (dt->type != json::Value::Type::STRING || !dtype_from_string(dt->text, e.dtype))
            bad(path, where + " has unsupported dtype " +
                          (dt->type == json::Value::Type::STRING ? dt->text : "?"));
        if (sh->type != json::Value::Type::ARRAY || sh->items.size() > 8)
            bad(path, where + " has a bad shape");
        uint64_t numel = 1;
        for (auto& d : sh->items) {
            uint64_t extent = checked_integer(d, path, where + " shape entry");
            if (extent > (uint64_t(1) << 40) || (extent && numel > (uint64_t(1) << 50) / extent))
                bad(path, where + " shape is implausibly large");
            numel *= extent;
            e.shape.push_back(static_cast<int64_t>(extent));
        }
        if (off->type != json::Value::Type::ARRAY || off->items.size() != 2)
            bad(path, where + " data_offsets is not [begin, end]");
        const uint64_t begin = checked_integer(off->items[0], path, where + " data_offsets[0]");
        const uint64_t end = checked_integer(off->items[1], path, where + " data_offsets[1]");
        if (begin > end || end > data_size)
            bad(path, where + " data_offsets [" + std::to_string(begin) + ", " +
                          std::to_string(end) + ") outside the " + std::to_string(data_size) +
                          " data bytes (truncated?)");
        if (end - begin != numel * dtype_size(e.dtype))
            bad(path, where + " holds " + std::to_string(end - begin) +
                          " bytes, its shape and dtype need " +
                          std::to_string(numel * dtype_size(e.dtype)));
        regions.emplace_back(begin, end);
        e.bytes.assign(data + begin, data + end);
        out.tensors.push_back(std::move(e));
    }
    std::sort(regions.begin(), regions.end());
    for (size_t i = 1; i < regions.size(); ++i)
        if (regions[i].first < regions[i - 1].second)
            bad(path, "two tensors' data regions overlap");
    if (auto it = out.metadata.find(kDataCrcKey); it != out.metadata.end()) {
        const uint32_t crc = crc32(data, data_size);
        if (it->second != crc_hex(crc))
            bad(path, "the tensor data fails its checksum (CRC-32 " + crc_hex(crc) +
                          ", written as " + it->second.substr(0, 16) +
                          "): the file was damaged after it was written");
    }
    return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                               std::istreambuf_iterator<char>());
    if (f.bad()) throw IoError(path + ": read error");
    return parse_safetensors(bytes, path);
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const std::string file = fs::path(path).filename().string();
    // Every failure removes the temporary file and leaves `path` as it was.
    auto fail = [&](int fd, const std::string& what) {
        const std::string err = std::strerror(errno);
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        return IoError(path + ": could not be written (" + what + ": " + err + "); the previous " +
                       file + (fs::exists(path) ? " is unchanged" : " did not exist"));
    };
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw fail(-1, "cannot create " + tmp);
    // Up to the middle, then the rest, in pieces of at most 8 MiB: the fault
    // point between the two finds a half-written temporary file.
    const size_t half = bytes.size() / 2;
    size_t done = 0;
    bool halfway = false;
    while (done < bytes.size()) {
        if (done == half && !halfway) {
            halfway = true;
            fault_point("write:" + file);
        }
        const size_t end = done < half ? half : bytes.size();
        const ssize_t w = ::write(fd, bytes.data() + done, std::min<size_t>(end - done, 8u << 20));
        if (w < 0) {
            if (errno == EINTR) continue;
            throw fail(fd, "write " + tmp);
        }
        done += static_cast<size_t>(w);
    }
    if (::fsync(fd) != 0) throw fail(fd, "fsync " + tmp);
    if (::close(fd) != 0) throw fail(-1, "close " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail(-1, "rename " + tmp);
    // Make the rename itself durable.
    std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
    if (dir.empty()) dir = "/";
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    fault_point("written:" + file);
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsView>& tensors,
                       const std::map<std::string, std::string>& user_metadata) {
    auto nbytes = [](const SafetensorsView& t) {
        uint64_t numel = 1;
        for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
        return numel * dtype_size(t.dtype);
    };
    std::map<std::string, std::string> metadata = user_metadata;
    uint32_t crc = 0;
    for (auto& t : tensors) crc = crc32(t.data, nbytes(t), crc);
    metadata[kDataCrcKey] = crc_hex(crc);
    std::ostringstream h;
    h << "{";
    bool first = true;
    if (!metadata.empty()) {
        h << "\"__metadata__\":{";
        for (auto it = metadata.begin(); it != metadata.end(); ++it)
            h << (it == metadata.begin() ? "" : ",") << json::quote(it->first) << ":"
              << json::quote(it->second);
        h << "}";
        first = false;
    }
    uint64_t offset = 0;
    for (auto& t : tensors) {
        const uint64_t bytes = nbytes(t);
        h << (first ? "" : ",") << json::quote(t.name) << ":{\"dtype\":\"" << dtype_name(t.dtype)
          << "\",\"shape\":[";
        for (size_t i = 0; i < t.shape.size(); ++i) h << (i ? "," : "") << t.shape[i];
        h << "],\"data_offsets\":[" << offset << "," << offset + bytes << "]}";
        offset += bytes;
        first = false;
    }
    h << "}";
    std::string header = h.str();
    while ((8 + header.size()) % 8) header += ' ';  // align the data section, as safetensors does
    std::string out;
    out.reserve(8 + header.size() + offset);
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
    out += header;
    for (auto& t : tensors) out.append(static_cast<const char*>(t.data), nbytes(t));
    write_file_atomic(path, out);
}

}  // namespace effnet
