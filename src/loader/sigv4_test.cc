#include "loader/sigv4.h"

#include <gtest/gtest.h>

namespace cohost::loader {
namespace {

// AWS's published example: "Example: GET Object" in "Signature Calculations for the Authorization
// Header: Transferring Payload in a Single Chunk (AWS Signature Version 4)" (Amazon S3 API docs).
constexpr std::time_t k20130524 = 1369353600;  // Fri, 24 May 2013 00:00:00 GMT

AwsCredentials ExampleCredentials() {
  return {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
}

TEST(SigV4Test, MatchesAwsGetObjectExample) {
  SigV4Request req;
  req.method = "GET";
  req.canonical_uri = "/test.txt";
  req.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}};
  SigV4Result r = SignV4(req, ExampleCredentials(), "us-east-1", "s3", k20130524);
  EXPECT_EQ(r.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(r.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(r.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(r.headers.at("x-amz-date"), "20130524T000000Z");
}

TEST(SigV4Test, ChangingTheRangeChangesTheSignature) {
  SigV4Request req;
  req.canonical_uri = "/test.txt";
  req.headers = {{"host", "examplebucket.s3.amazonaws.com"}, {"range", "bytes=0-10"}};
  SigV4Result r = SignV4(req, ExampleCredentials(), "us-east-1", "s3", k20130524);
  EXPECT_EQ(r.authorization.find("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
            std::string::npos);
}

TEST(SigV4Test, SessionTokenIsSigned) {
  SigV4Request req;
  req.headers = {{"host", "h"}};
  AwsCredentials c = ExampleCredentials();
  c.session_token = "tok";
  SigV4Result r = SignV4(req, c, "us-east-1", "s3", k20130524);
  EXPECT_EQ(r.headers.at("x-amz-security-token"), "tok");
  EXPECT_NE(r.authorization.find("x-amz-security-token"), std::string::npos);
}

TEST(SigV4Test, Helpers) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(AmzDate(k20130524), "20130524T000000Z");
  EXPECT_EQ(UriEncode("a b/c+d.gguf", true), "a%20b/c%2Bd.gguf");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
}

}  // namespace
}  // namespace cohost::loader
