import Foundation

/// The input files named on a replay's command line: files as given, directories by their regular files.
public enum CorpusFiles {
    public static func listed(in arguments: some Sequence<String>) throws -> [URL] {
        var files: [URL] = []
        for argument in arguments where !argument.hasPrefix("-") {
            let url = URL(fileURLWithPath: argument)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: url.path])
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
                for name in names where !name.hasPrefix(".") {
                    var isSubdirectory: ObjCBool = false
                    let file = url.appendingPathComponent(name)
                    if FileManager.default.fileExists(atPath: file.path, isDirectory: &isSubdirectory),
                        !isSubdirectory.boolValue
                    {
                        files.append(file)
                    }
                }
            } else {
                files.append(url)
            }
        }
        return files
    }
}
