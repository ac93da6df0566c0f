// Hostile HTTP clients against a real runner: invalid UTF-8, bodies without a length, slow
// clients, descriptor exhaustion and SIGTERM during a stream.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <csignal>
#include <string>
#include <vector>

#include <algorithm>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "support/harness.h"
#include "support/serve.h"

namespace cohost::testing {
namespace {

using namespace std::chrono_literals;

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void SendAll(int fd, const std::string& s) { (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

// Reads until the peer closes (or the 20 s receive timeout).
std::string ReadToClose(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string Exchange(int port, const std::string& raw) {
  int fd = Connect(port);
  EXPECT_GE(fd, 0);
  SendAll(fd, raw);
  std::string out = ReadToClose(fd);
  ::close(fd);
  return out;
}

TEST(HttpHostile, InvalidUtf8IsBadRequestNaming_body) {
  auto runner = Runner::Start(SmallModel());
  ASSERT_TRUE(runner);
  for (std::string target : {"/v1/completions", "/v1/chat/completions"}) {
    std::string body = "{\"model\":\"x\xff\",\"prompt\":\"h\xffi\",\"max_tokens\":2}";
    std::string out = Exchange(runner->port(), "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << target << ": " << out;
    EXPECT_NE(out.find("\"param\":\"body\""), std::string::npos) << out;
  }
  EXPECT_EQ(runner->Log().find("handler failed"), std::string::npos);
}

TEST(HttpHostile, ServeAnswersInvalidUtf8And411AndPutOnItsFrontDoorAndControlApi) {
  TempDir dir;
  Serve serve(dir.path(), WriteInventory(dir, 1, 4096));
  ASSERT_GT(serve.port(), 0) << serve.Log();
  std::string body = "{\"model\":\"x\xff\",\"messages\":[{\"role\":\"user\",\"content\":\"h\xffi\"}]}";
  for (std::string target : {"/v1/chat/completions", "/v1/completions", "/v1/endpoints"}) {
    std::string out = Exchange(serve.port(), "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << target << ": " << out;
  }
  std::string out = Exchange(serve.port(), "POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\n\r\n{}");
  EXPECT_NE(out.find(" 411 "), std::string::npos) << out;
  out = Exchange(serve.port(), "PUT /v1/endpoints/main HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               "Content-Length: 2\r\n\r\n{}");
  EXPECT_EQ(out.rfind("HTTP/1.1 405", 0), 0u) << out;
  EXPECT_NE(out.find("Allow: GET, DELETE"), std::string::npos) << out;
  EXPECT_EQ(serve.Log().find("handler failed"), std::string::npos);
}

TEST(HttpHostile, PostWithoutContentLengthIs411) {
  auto runner = Runner::Start(SmallModel());
  ASSERT_TRUE(runner);
  std::string out = Exchange(runner->port(), "POST /v1/completions HTTP/1.0\r\nHost: x\r\n\r\n{\"prompt\":\"hi\"}");
  EXPECT_EQ(out.rfind("HTTP/1.0 411", 0) == 0 || out.rfind("HTTP/1.1 411", 0) == 0, true) << out;
  EXPECT_NE(out.find("Content-Length"), std::string::npos) << out;
}

TEST(HttpHostile, SlowHeadersAndBodiesGet408WhileNormalRequestsWork) {
  auto runner = Runner::Start(SmallModel(), {"--http-header-timeout-s", "1", "--http-body-timeout-s", "1",
                                             "--http-idle-timeout-s", "1"});
  ASSERT_TRUE(runner);
  auto slow = [&](const std::string& start, const std::string& drip) {
    int fd = Connect(runner->port());
    SendAll(fd, start);
    const auto t0 = std::chrono::steady_clock::now();
    std::string out;
    for (char c : drip) {  // one byte every 100 ms: the slow client itself, not a wait for state
      SendAll(fd, std::string(1, c));
      std::this_thread::sleep_for(100ms);
      char buf[512];
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        break;
      }
      if (n == 0) break;
    }
    out += ReadToClose(fd);
    ::close(fd);
    return std::pair(out, std::chrono::steady_clock::now() - t0);
  };
  auto [head, head_took] = slow("POST /v1/completions HTTP/1.1\r\n", std::string(200, 'X'));
  EXPECT_EQ(head.rfind("HTTP/1.1 408", 0), 0u) << head;
  EXPECT_LT(head_took, 8s);
  auto [body, body_took] = slow("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{",
                                std::string(200, ' '));
  EXPECT_EQ(body.rfind("HTTP/1.1 408", 0), 0u) << body;
  EXPECT_NE(body.find("body"), std::string::npos);
  EXPECT_LT(body_took, 8s);
  // An idle connection is closed without an answer.
  int fd = Connect(runner->port());
  EXPECT_EQ(ReadToClose(fd), "");
  ::close(fd);
  auto client = runner->Client();
  auto r = client.Send("GET", "/healthz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
}

TEST(HttpHostile, SigtermEndsAStreamPastTheDrainDeadlineWithErrorAndDone) {
  auto runner = Runner::Start(SmallModel(), {"--drain-timeout-s", "0", "--parallel", "1", "--context", "4096"});
  ASSERT_TRUE(runner);
  int fd = Connect(runner->port());
  std::string body = R"({"prompt":"hello","max_tokens":4000,"stream":true})";
  SendAll(fd, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\n\r\n" + body);
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);  // the stream has started
  ASSERT_GT(n, 0);
  runner->process().Signal(SIGTERM);
  std::string out = std::string(buf, static_cast<size_t>(n)) + ReadToClose(fd);
  ::close(fd);
  EXPECT_NE(out.find("data: [DONE]"), std::string::npos) << out.substr(out.size() > 800 ? out.size() - 800 : 0);
  // 4000 tokens take seconds; SIGTERM came after the first bytes, with no drain time.
  EXPECT_NE(out.find("server_shutting_down"), std::string::npos);
  EXPECT_LT(out.find("server_shutting_down"), out.find("data: [DONE]"));
  EXPECT_TRUE(runner->process().WaitFor(10s));
  // New connections are refused once it stopped accepting.
  EXPECT_LT(Connect(runner->port()), 0);
}

// utime + stime of a process, in clock ticks.
long CpuTicks(int pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i < 14 && rest >> field; ++i) {
  }
  long utime = 0, stime = 0;
  rest >> utime >> stime;
  return utime + stime;
}

TEST(HttpHostile, OutOfDescriptorsBacksOffAnswers503AndRecovers) {
  TempDir dir;
  const std::string log = dir.File("runner.log");
  // A hard limit of 64 descriptors, and no connection cap, so that accept() itself fails.
  auto p = sys::Process::Spawn({{"/usr/bin/prlimit", "--nofile=64:64", COHOST_BINARY, "runner", "--model", SmallModel(),
                                 "--port", "0", "--threads", "1", "--http-max-connections", "100000"},
                                log});
  ASSERT_TRUE(p.ok());
  int port = 0;
  static const std::regex kListening(R"(msg=listening .*port=(\d+))");
  ASSERT_TRUE(WaitUntil([&] {
    std::smatch m;
    std::string text = ReadFile(log);
    if (std::regex_search(text, m, kListening)) port = std::stoi(m[1]);
    return port != 0;
  })) << ReadFile(log);
  const long before = CpuTicks(p->pid());
  std::vector<int> clients;
  for (int i = 0; i < 150; ++i) {
    int fd = Connect(port);
    if (fd >= 0) clients.push_back(fd);
  }
  // Some connections were answered 503 and closed: the reserve descriptor at work.
  int refused = 0;
  ASSERT_TRUE(WaitUntil([&] {
    for (int& fd : clients) {
      char buf[512];
      if (fd < 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0 && std::string(buf, static_cast<size_t>(n)).find(" 503 ") != std::string::npos) {
        ++refused;
        ::close(fd);
        fd = -1;
      }
    }
    return refused > 0;
  }, 20s));
  // Held for two seconds: the flood itself, while the process must not spin.
  std::this_thread::sleep_for(2s);
  const long ticks = CpuTicks(p->pid()) - before;
  EXPECT_LT(ticks, sysconf(_SC_CLK_TCK) * 3 / 4) << "CPU ticks during the flood: " << ticks;
  for (int fd : clients)
    if (fd >= 0) ::close(fd);
  net::HttpClient client(net::Address{"127.0.0.1", port, ""}, 2s);
  EXPECT_TRUE(WaitUntil([&] {
    auto r = client.Send("GET", "/healthz");
    return r.ok() && r->status == 200;
  }, 30s)) << ReadFile(log);
  std::string text = ReadFile(log);
  EXPECT_LT(std::count(text.begin(), text.end(), '\n'), 100) << text;
  p->Signal(SIGTERM);
  EXPECT_TRUE(p->WaitFor(10s));
}

TEST(HttpHostile, ConnectionsPastTheCapGet503) {
  auto runner = Runner::Start(SmallModel(), {"--http-max-connections", "4"});
  ASSERT_TRUE(runner);
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) held.push_back(Connect(runner->port()));
  ASSERT_TRUE(WaitUntil([&] {
    std::string out = Exchange(runner->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    return out.rfind("HTTP/1.1 503", 0) == 0 && out.find("connections") != std::string::npos;
  }, 10s));
  for (int fd : held) ::close(fd);
  auto client = runner->Client(2s);
  EXPECT_TRUE(WaitUntil([&] {
    auto r = client.Send("GET", "/healthz");
    return r.ok() && r->status == 200;
  }));
}

}  // namespace
}  // namespace cohost::testing
