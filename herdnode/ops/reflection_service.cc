#include "herdnode/ops/reflection_service.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace herd {

namespace refl = grpc::reflection::v1alpha;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

namespace {

// file, then every file it imports (transitively), each once: a client
// needs them all to make sense of the first.
void AddFileAndImports(const FileDescriptor* file,
                       absl::flat_hash_set<const FileDescriptor*>& seen,
                       refl::FileDescriptorResponse& out) {
  if (!seen.insert(file).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(out.add_file_descriptor_proto());
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFileAndImports(file->dependency(i), seen, out);
  }
}

void Error(grpc::StatusCode code, const char* message,
           refl::ServerReflectionResponse& response) {
  refl::ErrorResponse* error = response.mutable_error_response();
  error->set_error_code(static_cast<int32_t>(code));
  error->set_error_message(message);
}

}  // namespace

refl::ServerReflectionResponse AnswerReflection(
    const refl::ServerReflectionRequest& request,
    const std::vector<std::string>& services) {
  const DescriptorPool& pool = *DescriptorPool::generated_pool();
  refl::ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  absl::flat_hash_set<const FileDescriptor*> seen;
  switch (request.message_request_case()) {
    case refl::ServerReflectionRequest::kListServices:
      for (const std::string& name : services) {
        response.mutable_list_services_response()->add_service()->set_name(
            name);
      }
      break;
    case refl::ServerReflectionRequest::kFileByFilename: {
      const FileDescriptor* file =
          pool.FindFileByName(request.file_by_filename());
      if (file == nullptr) {
        Error(grpc::StatusCode::NOT_FOUND, "File not found.", response);
        break;
      }
      AddFileAndImports(file, seen,
                        *response.mutable_file_descriptor_response());
      break;
    }
    case refl::ServerReflectionRequest::kFileContainingSymbol: {
      const FileDescriptor* file =
          pool.FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) {
        Error(grpc::StatusCode::NOT_FOUND, "Symbol not found.", response);
        break;
      }
      AddFileAndImports(file, seen,
                        *response.mutable_file_descriptor_response());
      break;
    }
    case refl::ServerReflectionRequest::kFileContainingExtension: {
      const refl::ExtensionRequest& wanted =
          request.file_containing_extension();
      const google::protobuf::Descriptor* type =
          pool.FindMessageTypeByName(wanted.containing_type());
      if (type == nullptr) {
        Error(grpc::StatusCode::NOT_FOUND, "Type not found.", response);
        break;
      }
      const google::protobuf::FieldDescriptor* extension =
          pool.FindExtensionByNumber(type, wanted.extension_number());
      if (extension == nullptr) {
        Error(grpc::StatusCode::NOT_FOUND, "Extension not found.", response);
        break;
      }
      AddFileAndImports(extension->file(), seen,
                        *response.mutable_file_descriptor_response());
      break;
    }
    case refl::ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const google::protobuf::Descriptor* type =
          pool.FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) {
        Error(grpc::StatusCode::NOT_FOUND, "Type not found.", response);
        break;
      }
      std::vector<const google::protobuf::FieldDescriptor*> extensions;
      pool.FindAllExtensions(type, &extensions);
      refl::ExtensionNumberResponse* numbers =
          response.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      for (const auto* extension : extensions) {
        numbers->add_extension_number(extension->number());
      }
      break;
    }
    case refl::ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      Error(grpc::StatusCode::UNIMPLEMENTED, "", response);
      break;
  }
  return response;
}

// One ServerReflectionInfo stream: each request is answered in turn; the
// stream ends OK once the client is done sending.
class ReflectionService::Stream final
    : public ServerBidiCall<refl::ServerReflectionRequest,
                            refl::ServerReflectionResponse> {
 public:
  explicit Stream(ReflectionService& reflection) : reflection_(reflection) {}

 private:
  void RequestCall(grpc::ServerCompletionQueue* queue,
                   CompletionTag* tag) override {
    reflection_.service_.RequestServerReflectionInfo(&context(), stream(),
                                                     queue, queue, tag);
  }
  void Begin() override { StartRead(&request_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    response_ = AnswerReflection(request_, reflection_.services_);
    StartWrite(&response_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
      return;
    }
    StartRead(&request_);
  }

  ReflectionService& reflection_;
  refl::ServerReflectionRequest request_;
  refl::ServerReflectionResponse response_;
};

void ReflectionService::Serve(const GrpcPollers& pollers, ServerCalls& calls) {
  calls.Serve(pollers, [this]() -> std::unique_ptr<ServerCallBase> {
    return std::make_unique<Stream>(*this);
  });
}

}  // namespace herd
