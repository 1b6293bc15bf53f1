#include "herdnode/ops/reflection_service.h"

#include <string>
#include <vector>

#include "google/protobuf/descriptor.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "herd/v1/herd.pb.h"

namespace herd {
namespace {

namespace refl = grpc::reflection::v1alpha;

// The generated pool holds the files linked into the program; herd.proto's
// is, in herdnode, and here once something refers to it.
void LinkHerdProto() { (void)v1::Location::descriptor(); }

const std::vector<std::string> kServices = {"herd.v1.HerdNode",
                                            "grpc.health.v1.Health"};

std::vector<std::string> FileNames(const refl::ServerReflectionResponse& r) {
  std::vector<std::string> names;
  for (const std::string& bytes :
       r.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    EXPECT_TRUE(file.ParseFromString(bytes));
    names.push_back(file.name());
  }
  return names;
}

TEST(AnswerReflectionTest, ListsTheServicesAndEchoesTheRequest) {
  LinkHerdProto();
  refl::ServerReflectionRequest request;
  request.set_host("localhost");
  request.set_list_services("");
  const refl::ServerReflectionResponse response =
      AnswerReflection(request, kServices);
  EXPECT_EQ(response.valid_host(), "localhost");
  EXPECT_EQ(response.original_request().list_services(), "");
  ASSERT_EQ(response.list_services_response().service_size(), 2);
  EXPECT_EQ(response.list_services_response().service(0).name(),
            "herd.v1.HerdNode");
  EXPECT_EQ(response.list_services_response().service(1).name(),
            "grpc.health.v1.Health");
}

TEST(AnswerReflectionTest, FileContainingASymbolComesWithItsImports) {
  LinkHerdProto();
  refl::ServerReflectionRequest request;
  request.set_file_containing_symbol("herd.v1.HerdNode.GetStatus");
  const std::vector<std::string> names =
      FileNames(AnswerReflection(request, kServices));
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "herd/v1/herd.proto");
}

TEST(AnswerReflectionTest, FileByNameAndMessageSymbols) {
  LinkHerdProto();
  refl::ServerReflectionRequest by_name;
  by_name.set_file_by_filename("herd/v1/herd.proto");
  EXPECT_EQ(FileNames(AnswerReflection(by_name, kServices)),
            std::vector<std::string>{"herd/v1/herd.proto"});
  refl::ServerReflectionRequest by_symbol;
  by_symbol.set_file_containing_symbol("herd.v1.Location");
  EXPECT_EQ(FileNames(AnswerReflection(by_symbol, kServices)).front(),
            "herd/v1/herd.proto");
}

TEST(AnswerReflectionTest, UnknownNamesAreNotFound) {
  LinkHerdProto();
  refl::ServerReflectionRequest request;
  request.set_file_containing_symbol("no.such.Symbol");
  refl::ServerReflectionResponse response =
      AnswerReflection(request, kServices);
  EXPECT_EQ(response.error_response().error_code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));
  request.set_file_by_filename("no/such.proto");
  response = AnswerReflection(request, kServices);
  EXPECT_EQ(response.error_response().error_code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));
  request.set_all_extension_numbers_of_type("no.such.Type");
  response = AnswerReflection(request, kServices);
  EXPECT_EQ(response.error_response().error_code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));
}

TEST(AnswerReflectionTest, ExtensionNumbersOfATypeWithNone) {
  LinkHerdProto();
  refl::ServerReflectionRequest request;
  request.set_all_extension_numbers_of_type("herd.v1.Location");
  const refl::ServerReflectionResponse response =
      AnswerReflection(request, kServices);
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(),
            "herd.v1.Location");
  EXPECT_EQ(response.all_extension_numbers_response().extension_number_size(),
            0);
}

TEST(AnswerReflectionTest, AnEmptyRequestIsUnimplemented) {
  LinkHerdProto();
  const refl::ServerReflectionResponse response =
      AnswerReflection(refl::ServerReflectionRequest(), kServices);
  EXPECT_EQ(response.error_response().error_code(),
            static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
}

}  // namespace
}  // namespace herd
